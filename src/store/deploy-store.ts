import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A pool's image pushed to the staging repository. */
export interface StagedImage {
  pool: string;
  ref: string;
  digest: string;
}

export type DeployResult = 'deploying' | 'success' | 'failure' | 'superseded' | 'unchanged';

/** Why a service runs what it runs: a push to its branch, or an admin's rollback. */
export type DeployTrigger = { kind: 'push' } | { kind: 'rollback'; by: string };

/** A service held at one version by an admin: pushes are built but not deployed to it. */
export interface Pin {
  sha: string;
  digest: string;
  by: string;
  at: number;
  /** The newest commit a deploy skipped because of the pin. */
  skipped?: string;
}

/** One entry of a service's history: what was deployed, from where, and how it went. */
export interface DeployEntry {
  sha: string;
  digest: string;
  image: string;
  repo: string;
  branch: string;
  jobId: string;
  result: DeployResult;
  startedAt: number;
  finishedAt?: number;
  error?: string;
  /** Kept so an admin can deploy this version again (absent on older entries). */
  specKey?: string;
  cloneUrl?: string;
  installationId?: number;
  trigger?: DeployTrigger;
  /** The GitHub Deployment of this update, so a retry can close one left in progress. */
  deploymentId?: number;
}

const WEEK = 7 * 24 * 3600;
const HISTORY = 100;

// Releases the lock only if it is still ours (it may have expired and been taken).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** Staged images, service history and per-service locks, under the flavour's namespace. */
export class DeployStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private stagedKey(repo: string, sha: string, specKey: string): string {
    return `${this.ns}:staged:${repo.toLowerCase()}:${sha}:${specKey}`;
  }
  private historyKey(service: string): string {
    return `${this.ns}:history:${service}`;
  }
  private lockKey(service: string): string {
    return `${this.ns}:lock:${service}`;
  }
  private pinKey(): string {
    return `${this.ns}:pins`;
  }

  async pin(service: string): Promise<Pin | undefined> {
    const raw = await this.redis.hget(this.pinKey(), service);
    return raw ? (JSON.parse(raw) as Pin) : undefined;
  }

  async pins(): Promise<Map<string, Pin>> {
    const all = await this.redis.hgetall(this.pinKey());
    return new Map(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as Pin]));
  }

  async setPin(service: string, pin: Pin): Promise<void> {
    await this.redis.hset(this.pinKey(), service, JSON.stringify(pin));
  }

  /** Notes a commit the pin kept out; a pin removed meanwhile stays removed. */
  async noteSkipped(service: string, sha: string): Promise<void> {
    const pin = await this.pin(service);
    if (pin)
      await this.redis.hset(this.pinKey(), service, JSON.stringify({ ...pin, skipped: sha }));
  }

  /** True when the service was pinned. */
  async unpin(service: string): Promise<boolean> {
    return (await this.redis.hdel(this.pinKey(), service)) === 1;
  }

  async stage(repo: string, sha: string, specKey: string, image: StagedImage): Promise<void> {
    const key = this.stagedKey(repo, sha, specKey);
    await this.redis.multi().hset(key, image.pool, JSON.stringify(image)).expire(key, WEEK).exec();
  }

  async staged(repo: string, sha: string, specKey: string): Promise<StagedImage[]> {
    const all = await this.redis.hgetall(this.stagedKey(repo, sha, specKey));
    return Object.values(all).map((v) => JSON.parse(v) as StagedImage);
  }

  private deployedKey(repo: string): string {
    return `${this.ns}:deployed:${repo.toLowerCase()}`;
  }

  /** The commit last deployed from a spec's branch, for catching up missed webhooks. */
  async deployedSha(repo: string, specKey: string, branch: string): Promise<string | undefined> {
    return (await this.redis.hget(this.deployedKey(repo), `${specKey}@${branch}`)) ?? undefined;
  }

  async setDeployedSha(repo: string, specKey: string, branch: string, sha: string): Promise<void> {
    await this.redis.hset(this.deployedKey(repo), `${specKey}@${branch}`, sha);
  }

  /** Newest first. */
  async history(service: string): Promise<DeployEntry[]> {
    const raw = await this.redis.lrange(this.historyKey(service), 0, HISTORY - 1);
    return raw.map((r) => JSON.parse(r) as DeployEntry);
  }

  /** Adds an entry, or replaces the newest one when it is the same job's. */
  async record(service: string, entry: DeployEntry): Promise<void> {
    const key = this.historyKey(service);
    const [latest] = await this.history(service);
    if (latest?.jobId === entry.jobId) await this.redis.lset(key, 0, JSON.stringify(entry));
    else
      await this.redis
        .multi()
        .lpush(key, JSON.stringify(entry))
        .ltrim(key, 0, HISTORY - 1)
        .exec();
  }

  /** A lock per service, so two deploys never update it at once; undefined when taken. */
  async lock(service: string, ttlMs: number): Promise<ServiceLock | undefined> {
    const token = randomUUID();
    const key = this.lockKey(service);
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    // A renewal that fails (Redis gone) lets the lock lapse; it must not crash the process.
    const renew = () => this.redis.eval(EXTEND, 1, key, token, ttlMs).catch(() => undefined);
    const timer = setInterval(renew, ttlMs / 3).unref();
    return {
      release: async () => {
        clearInterval(timer);
        await this.redis.eval(RELEASE, 1, key, token);
      },
    };
  }
}

export interface ServiceLock {
  release(): Promise<void>;
}
