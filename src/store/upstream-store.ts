import type { Redis } from 'ioredis';

/** The digest last deployed from each upstream image, under the flavour's namespace. */
export class UpstreamStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private get key(): string {
    return `${this.ns}:upstreams`;
  }

  /** Undefined when nothing was deployed from `id` yet. */
  async deployedDigest(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key, id)) ?? undefined;
  }

  async setDeployedDigest(id: string, digest: string): Promise<void> {
    await this.redis.hset(this.key, id, digest);
  }
}
