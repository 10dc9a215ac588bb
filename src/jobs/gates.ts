import { DelayedError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

/** The original's confirmation levels, least to most dangerous. */
export const LEVELS = [
  'harmless',
  'mostly-harmless',
  'average',
  'above-average',
  'dangerous',
] as const;
export type Level = (typeof LEVELS)[number];

/** How dangerous each operation is: a build, a push to a registry, a service update. */
export const OPERATION_LEVELS = {
  build: 'average',
  push: 'above-average',
  deploy: 'dangerous',
} as const;
export type Operation = keyof typeof OPERATION_LEVELS;

/** Whether `op` waits for an admin when the deployer runs with `--confirm threshold`. */
export const needsConfirmation = (threshold: Level | undefined, op: Operation): boolean =>
  threshold !== undefined && LEVELS.indexOf(OPERATION_LEVELS[op]) >= LEVELS.indexOf(threshold);

export interface PendingGate {
  jobId: string;
  op: Operation;
  description: string;
  since: number;
}

const RECHECK_MS = 2_000;
const WEEK = 7 * 24 * 3600;

/** Operations waiting for confirmation, and the confirmations given, in Redis. */
export class Gates {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    readonly threshold: Level | undefined,
  ) {}

  private pendingKey = () => `${this.ns}:gates:pending`;
  private okKey = (jobId: string, op: Operation) => `${this.ns}:gates:ok:${jobId}:${op}`;

  async pending(): Promise<PendingGate[]> {
    const all = await this.redis.hgetall(this.pendingKey());
    return Object.values(all)
      .map((v) => JSON.parse(v) as PendingGate)
      .sort((a, b) => a.since - b.since);
  }

  /** Confirms a waiting operation (the CLI, and later the web UI, call this). */
  async confirm(jobId: string, op: Operation): Promise<boolean> {
    const field = `${jobId}:${op}`;
    if (!(await this.redis.hexists(this.pendingKey(), field))) return false;
    await this.redis
      .multi()
      .set(this.okKey(jobId, op), '1', 'EX', WEEK)
      .hdel(this.pendingKey(), field)
      .exec();
    return true;
  }

  /**
   * Lets `op` of `job` go ahead when no confirmation is needed or one was given;
   * otherwise records it as waiting and puts the job back to be looked at again.
   */
  async pass(
    job: Job,
    token: string | undefined,
    op: Operation,
    description: string,
  ): Promise<void> {
    if (!needsConfirmation(this.threshold, op)) return;
    if (await this.redis.exists(this.okKey(job.id!, op))) return;
    const gate: PendingGate = { jobId: job.id!, op, description, since: Date.now() };
    await this.redis.hsetnx(this.pendingKey(), `${job.id}:${op}`, JSON.stringify(gate));
    await job.moveToDelayed(Date.now() + RECHECK_MS, token);
    throw new DelayedError();
  }
}
