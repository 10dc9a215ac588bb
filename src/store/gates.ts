import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

import { ConfirmLevel } from './confirm-level.js';
import {
  needsConfirmation,
  OPERATION_LEVELS,
  type Level,
  type Operation,
} from '../config/levels.js';

export { LEVELS, OPERATION_LEVELS } from '../config/levels.js';
export type { Level, Operation } from '../config/levels.js';

export interface PendingGate {
  jobId: string;
  op: Operation;
  description: string;
  since: number;
  /** When the job was added: a job added again under the same id (a rebuild) asks again. */
  stamp?: number;
  /** The commit the job is for (absent on gates recorded before it was kept). */
  repo?: string;
  sha?: string;
}

/** What gates read of a job: its id, and the commit it is for. */
type GatedJob = Pick<
  Job<{ repo: string; sha: string }>,
  'id' | 'data' | 'timestamp' | 'moveToDelayed'
>;

const RECHECK_MS = 2_000;
const WEEK = 7 * 24 * 3600;

/** Operations waiting for confirmation, and the confirmations given, in Redis. */
export class Gates {
  /** The threshold in force: the configured one, unless an admin chose another at runtime. */
  readonly level: ConfirmLevel;

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    /** This process's `--confirm`. */
    configured: Level | undefined,
    /** Told when an operation starts or stops waiting (the check run shows it). */
    private readonly onChange: (repo: string, sha: string) => Promise<void> = async () => {},
  ) {
    this.level = new ConfirmLevel(redis, ns, configured);
  }

  private pendingKey = () => `${this.ns}:gates:pending`;
  private okKey = (jobId: string, op: Operation, stamp = 0) =>
    `${this.ns}:gates:ok:${jobId}:${stamp}:${op}`;

  async pending(): Promise<PendingGate[]> {
    const all = await this.redis.hgetall(this.pendingKey());
    return Object.values(all)
      .map((v) => JSON.parse(v) as PendingGate)
      .sort((a, b) => a.since - b.since);
  }

  /** Confirms a waiting operation (the CLI, the web UI and the check run's Confirm). */
  async confirm(jobId: string, op: Operation): Promise<boolean> {
    const field = `${jobId}:${op}`;
    const raw = await this.redis.hget(this.pendingKey(), field);
    if (!raw) return false;
    const gate = JSON.parse(raw) as PendingGate;
    await this.redis
      .multi()
      .set(this.okKey(jobId, op, gate.stamp), '1', 'EX', WEEK)
      .hdel(this.pendingKey(), field)
      .exec();
    if (gate.repo && gate.sha) await this.onChange(gate.repo, gate.sha);
    return true;
  }

  /** Drops what a job waited for (the job was cancelled). */
  async forget(jobId: string): Promise<void> {
    const fields = Object.keys(OPERATION_LEVELS).map((op) => `${jobId}:${op}`);
    await this.redis.hdel(this.pendingKey(), ...fields);
  }

  /** The operations of one commit's jobs that wait. */
  async pendingFor(repo: string, sha: string): Promise<PendingGate[]> {
    const lower = repo.toLowerCase();
    return (await this.pending()).filter((g) => g.sha === sha && g.repo?.toLowerCase() === lower);
  }

  /**
   * Lets `op` of `job` go ahead when no confirmation is needed or one was given;
   * otherwise records it as waiting and puts the job back to be looked at again.
   */
  async pass(
    job: GatedJob,
    token: string | undefined,
    op: Operation,
    description: string,
  ): Promise<void> {
    const { repo, sha } = job.data;
    const field = `${job.id}:${op}`;
    if (!needsConfirmation(await this.level.current(), op)) {
      // It may have waited while the threshold was higher: it waits no more.
      if (await this.redis.hdel(this.pendingKey(), field)) await this.onChange(repo, sha);
      return;
    }
    if (await this.redis.exists(this.okKey(job.id!, op, job.timestamp))) return;
    const gate: PendingGate = {
      jobId: job.id!,
      op,
      description,
      since: Date.now(),
      stamp: job.timestamp,
      repo,
      sha,
    };
    // One job at a time holds its id, so read-then-write is safe; an entry left by an
    // earlier job of the same id (removed while it waited) is replaced.
    const known = await this.redis.hget(this.pendingKey(), field);
    if (!known || (JSON.parse(known) as PendingGate).stamp !== job.timestamp) {
      await this.redis.hset(this.pendingKey(), field, JSON.stringify(gate));
      await this.onChange(repo, sha);
    }
    await job.moveToDelayed(Date.now() + RECHECK_MS, token);
    throw new DelayedError();
  }
}
