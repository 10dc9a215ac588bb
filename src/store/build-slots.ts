import type { Redis } from 'ioredis';

// Frees the slots whose hold ran out (a killed worker's), then takes one for the job if
// one is free or the job holds one already (a retry), in one step no other worker splits.
const TAKE = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0`;

/** Slots for untrusted builds (a fork's pull requests), a fixed number per repository. */
export class BuildSlots {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private key(repo: string): string {
    return `${this.ns}:untrusted-builds:${repo.toLowerCase()}`;
  }

  /** Takes one of `repo`'s `size` slots for `jobId`, held at most `holdMs`; false when all are taken. */
  async take(repo: string, jobId: string, size: number, holdMs: number): Promise<boolean> {
    const now = Date.now();
    const taken = await this.redis.eval(
      TAKE,
      1,
      this.key(repo),
      now,
      now + holdMs,
      jobId,
      size,
      holdMs,
    );
    return taken === 1;
  }

  async give(repo: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.key(repo), jobId);
  }
}
