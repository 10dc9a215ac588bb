import type { Redis } from 'ioredis';
import type { UnitDeployState } from '../plan/deploy-state.js';
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

/**
 * Per-commit state (how it came, its build records, where it was deployed) and per-ref
 * heads, in Redis under one namespace per flavour. Every change to a commit's state is
 * told to `onChange`, once per write, so its check run follows.
 */
export class CommitStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly onChange: (repo: string, sha: string) => Promise<void> = async () => {},
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
  private deployedToKey(repo: string, sha: string): string {
    return `${this.ns}:deployed-to:${repo.toLowerCase()}:${sha}`;
  }
  private deployStateKey(repo: string, sha: string): string {
    return `${this.ns}:deploy-state:${repo.toLowerCase()}:${sha}`;
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

  /** Records how a commit came and the builds queued for it, in one step. */
  async saveCommit(
    repo: string,
    sha: string,
    meta: CommitMeta,
    records: BuildRecord[],
  ): Promise<void> {
    await this.write(repo, sha, [[META, JSON.stringify(meta)], ...recordFields(records)]);
    await this.onChange(repo, sha);
  }

  /**
   * Notes the check run last written for the commit. The check-run writer's own
   * bookkeeping: nothing the check run shows changes, so `onChange` is not told.
   */
  async noteCheckRun(
    repo: string,
    sha: string,
    written: Required<Pick<CommitMeta, 'checkRunId' | 'lastWritten'>>,
  ): Promise<void> {
    const current = await this.meta(repo, sha);
    if (current) await this.write(repo, sha, [[META, JSON.stringify({ ...current, ...written })]]);
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
    await this.putRecords(repo, sha, [record]);
  }

  /** Writes several build records of a commit in one step (one check-run update). */
  async putRecords(repo: string, sha: string, records: BuildRecord[]): Promise<void> {
    if (!records.length) return;
    await this.write(repo, sha, recordFields(records));
    await this.onChange(repo, sha);
  }

  private async write(repo: string, sha: string, fields: [string, string][]): Promise<void> {
    const key = this.commitKey(repo, sha);
    await this.redis.multi().hset(key, Object.fromEntries(fields)).expire(key, WEEK).exec();
  }

  /** Services a commit was deployed to (its check run offers Roll back). */
  async deployedTo(repo: string, sha: string): Promise<string[]> {
    return (await this.redis.smembers(this.deployedToKey(repo, sha))).sort();
  }

  /** How the commit's deploy of each unit stands (its check run shows them). */
  async deployStates(repo: string, sha: string): Promise<UnitDeployState[]> {
    const fields = await this.redis.hgetall(this.deployStateKey(repo, sha));
    return Object.values(fields).map((json) => JSON.parse(json) as UnitDeployState);
  }

  /** Notes where the deploy of unit `key` stands; a unit deployed also counts for Roll back. */
  async noteDeploy(repo: string, sha: string, key: string, state: UnitDeployState): Promise<void> {
    const states = this.deployStateKey(repo, sha);
    const tx = this.redis.multi().hset(states, key, JSON.stringify(state)).expire(states, WEEK);
    if (state.state === 'deployed') {
      const deployed = this.deployedToKey(repo, sha);
      tx.sadd(deployed, key).expire(deployed, WEEK);
    }
    await tx.exec();
    await this.onChange(repo, sha);
  }
}

export const recordField = (specKey: string, pool: string): string => `${specKey}@${pool}`;

const recordFields = (records: BuildRecord[]): [string, string][] =>
  records.map((r) => [recordField(r.specKey, r.pool), JSON.stringify(r)]);
