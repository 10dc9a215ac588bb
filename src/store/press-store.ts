import type { Redis } from 'ioredis';

/** Buttons pressed on check runs: one press of a button counts once within a window. */
export class PressStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  /** True for the first press of `button` on check run `checkRunId` within `windowS` seconds. */
  async first(checkRunId: number, button: string, windowS: number): Promise<boolean> {
    const key = `${this.ns}:press:${checkRunId}:${button}`;
    return (await this.redis.set(key, '1', 'EX', windowS, 'NX')) === 'OK';
  }
}
