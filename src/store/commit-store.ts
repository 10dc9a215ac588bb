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
/** How many of a ref's former heads (pushes' `before`) are remembered. */
const MOVED_FROM_KEPT = 100;
// In one step no other client can split: refuses a push whose commit the ref is known to
// have moved away from (unless it continues from the recorded head: a force-push back),
// else returns all heads as they were and sets the ref's; a push's `before` is remembered.
const SWAP_HEAD = `local ref, sha, before = ARGV[1], ARGV[2], ARGV[3]
local head = redis.call('HGET', KEYS[1], ref)
if before ~= '' and head ~= before and head ~= sha and redis.call('ZSCORE', KEYS[2], sha) then
  return {0, head}
end
local heads = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], ref, sha)
if before ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], before)
  redis.call('ZREM', KEYS[2], sha)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[5]))
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return {1, heads}`;
const WEEK = 7 * 24 * 3600;

/** What `swapHead` did: the heads before it set the ref's, or the head that made the push stale. */
export type HeadSwap = { heads: Record<string, string> } | { stale: string };

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
  private movedFromKey(repo: string, ref: string): string {
    return `${this.ns}:moved-from:${repo.toLowerCase()}:${ref}`;
  }

  async heads(repo: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.headsKey(repo));
  }

  async setHead(repo: string, ref: string, sha: string): Promise<void> {
    await this.redis.hset(this.headsKey(repo), ref, sha);
  }

  /**
   * Sets `ref`'s head and returns all heads as they were just before, in one step. With
   * `before` (a push's: the ref moved from `before` to `sha`), a push of a commit the ref
   * already moved away from (a delivery older than one taken) is refused instead.
   */
  async swapHead(repo: string, ref: string, sha: string, before = ''): Promise<HeadSwap> {
    const [done, result] = (await this.redis.eval(
      SWAP_HEAD,
      2,
      this.headsKey(repo),
      this.movedFromKey(repo, ref),
      ref,
      sha,
      before,
      Date.now(),
      MOVED_FROM_KEPT,
      WEEK,
    )) as [number, string | string[]];
    if (!done) return { stale: result as string };
    const flat = result as string[];
    const heads: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) heads[flat[i]] = flat[i + 1];
    return { heads };
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
