import type { Redis } from 'ioredis';
import type { BuildRecord } from '../plan/check-run-output.js';

/** How a commit came to be checked; kept so a "Re-run" rebuilds it the same way. */
export interface CommitMeta {
  ref: string;
  fork: boolean;
  cloneUrl: string;
  installationId: number;
  checkRunId?: number;
  /** The last state written to GitHub, so identical updates are skipped. */
  lastWritten?: string;
}

const META = 'meta';
// Returns the hash as it was, then sets the field: a read-and-write no other client can split.
const SWAP_HEAD = `local before = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return before`;
const WEEK = 7 * 24 * 3600;

/** Per-commit build records and per-ref heads, in Redis under one namespace per flavour. */
export class CommitStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private commitKey(repo: string, sha: string): string {
    return `${this.ns}:commit:${repo.toLowerCase()}:${sha}`;
  }
  private headsKey(repo: string): string {
    return `${this.ns}:heads:${repo.toLowerCase()}`;
  }

  async heads(repo: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.headsKey(repo));
  }

  async setHead(repo: string, ref: string, sha: string): Promise<void> {
    await this.redis.hset(this.headsKey(repo), ref, sha);
  }

  /** Sets `ref`'s head and returns all heads as they were just before, in one step. */
  async swapHead(repo: string, ref: string, sha: string): Promise<Record<string, string>> {
    const flat = (await this.redis.eval(SWAP_HEAD, 1, this.headsKey(repo), ref, sha)) as string[];
    const before: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) before[flat[i]] = flat[i + 1];
    return before;
  }

  async meta(repo: string, sha: string): Promise<CommitMeta | undefined> {
    const raw = await this.redis.hget(this.commitKey(repo, sha), META);
    return raw ? (JSON.parse(raw) as CommitMeta) : undefined;
  }

  async saveMeta(repo: string, sha: string, meta: CommitMeta): Promise<void> {
    const key = this.commitKey(repo, sha);
    await this.redis.multi().hset(key, META, JSON.stringify(meta)).expire(key, WEEK).exec();
  }

  async updateMeta(repo: string, sha: string, patch: Partial<CommitMeta>): Promise<void> {
    const current = await this.meta(repo, sha);
    if (current) await this.saveMeta(repo, sha, { ...current, ...patch });
  }

  async records(repo: string, sha: string): Promise<BuildRecord[]> {
    const all = await this.redis.hgetall(this.commitKey(repo, sha));
    return Object.entries(all)
      .filter(([field]) => field !== META)
      .map(([, value]) => JSON.parse(value) as BuildRecord);
  }

  async record(repo: string, sha: string, field: string): Promise<BuildRecord | undefined> {
    const raw = await this.redis.hget(this.commitKey(repo, sha), field);
    return raw ? (JSON.parse(raw) as BuildRecord) : undefined;
  }

  async putRecord(repo: string, sha: string, record: BuildRecord): Promise<void> {
    const key = this.commitKey(repo, sha);
    await this.redis
      .multi()
      .hset(key, recordField(record.specKey, record.pool), JSON.stringify(record))
      .expire(key, WEEK)
      .exec();
  }
}

export const recordField = (specKey: string, pool: string): string => `${specKey}@${pool}`;
