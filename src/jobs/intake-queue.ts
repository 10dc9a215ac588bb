import { createHash } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CommitEvent } from '../plan/commit-event.js';

/** A webhook delivery's commit, for a worker to take in (`acceptCommit`). */
export interface IntakeJobData {
  /** GitHub's delivery id (`X-GitHub-Delivery`), for the logs: it is not signed. */
  delivery: string;
  commit: CommitEvent;
  rebuild?: boolean;
  /** A push's `before`. */
  before?: string;
}

export const INTAKE_QUEUE = 'intake';
const DAY = 24 * 3600;

export const intakeJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  // Kept a day: a delivery sent again (GitHub's redelivery, or a replay of a captured
  // one under a new delivery id) has the same job id, and adding a kept id is a no-op.
  removeOnComplete: { age: DAY },
  // Gone once it failed for good, so that GitHub's redelivery of it is taken.
  removeOnFail: true,
};

/**
 * The intake job id of a delivery: a hash of its signed payload. The delivery id is the
 * sender's text and not covered by the signature, so it cannot tell a replay apart.
 */
export const intakeJobId = (payload: unknown): string =>
  `delivery-${createHash('sha256').update(JSON.stringify(payload)).digest('hex').slice(0, 40)}`;

/**
 * The deliveries the receiver hands to the workers: a BullMQ queue. A delivery costs one
 * Redis command on the request path; those handled in the same turn of the event loop
 * (a busy receiver) share one write (`addBulk`).
 */
export class IntakeQueue {
  readonly queue: Queue<IntakeJobData>;
  private pending: { jobId: string; data: IntakeJobData; done: (err?: unknown) => void }[] = [];

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue<IntakeJobData>(INTAKE_QUEUE, { connection, prefix });
  }

  /** Adds a delivery under `jobId`; one already kept under that id adds nothing. */
  add(jobId: string, data: IntakeJobData): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ jobId, data, done: (err) => (err ? reject(err) : resolve()) });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const jobs = batch.map(({ jobId, data }) => ({
      name: 'commit',
      data,
      opts: { ...intakeJobOptions, jobId },
    }));
    try {
      if (jobs.length === 1) await this.queue.add(jobs[0].name, jobs[0].data, jobs[0].opts);
      else await this.queue.addBulk(jobs);
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.done(err);
    }
  }

  /** Deliveries added and not yet taken in (or being taken in). */
  async backlog(): Promise<number> {
    return this.queue.getJobCountByTypes('wait', 'delayed', 'prioritized', 'active');
  }

  /** Whether every delivery added has been taken in. */
  async drained(): Promise<boolean> {
    return (await this.backlog()) === 0;
  }

  /** Whether the delivery kept under `jobId` was taken in (within a day). */
  async taken(jobId: string): Promise<boolean> {
    return (await this.queue.getJob(jobId))?.finishedOn !== undefined;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
