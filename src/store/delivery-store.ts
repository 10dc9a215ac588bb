import type { Redis } from 'ioredis';

const DAY = 24 * 3600;

/**
 * Webhook deliveries already taken, by GitHub's delivery id (`X-GitHub-Delivery`),
 * kept a day under the flavour's namespace. GitHub redelivers with the same id, and
 * a redelivery (a late one especially) must not move a branch head back.
 */
export class DeliveryStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private key(id: string): string {
    return `${this.ns}:delivery:${id}`;
  }

  /** True the first time `id` is claimed (within a day), false for a redelivery. */
  async claim(id: string): Promise<boolean> {
    return (await this.redis.set(this.key(id), '1', 'EX', DAY, 'NX')) === 'OK';
  }

  /** Forgets `id`, so that a redelivery of a delivery that could not be handled is handled. */
  async release(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
