import type { Redis } from 'ioredis';

/**
 * The build arguments taken from elsewhere (other repositories' heads, image digests)
 * that a build spec was last built with, under the flavour's namespace.
 */
export class ArgStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private key(specKey: string): string {
    return `${this.ns}:args:${specKey}`;
  }

  /** Argument name → value; empty when none were stored yet. */
  async values(specKey: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.key(specKey));
  }

  /** Replaces the stored values with `values`. */
  async setValues(specKey: string, values: Record<string, string>): Promise<void> {
    const tx = this.redis.multi().del(this.key(specKey));
    if (Object.keys(values).length) tx.hset(this.key(specKey), values);
    await tx.exec();
  }
}
