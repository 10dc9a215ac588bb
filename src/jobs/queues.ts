import { Queue, QueueEventsProducer, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Arch } from '../config/schema.js';
import type { BuildJobData } from '../plan/build-jobs.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import { buildQueueName } from '../plan/build-jobs.js';
import { IntakeQueue } from './intake-queue.js';

export interface CheckJobData {
  repo: string;
  sha: string;
}

export const CHECKS_QUEUE = 'checks';
export const DEPLOY_QUEUE = 'deploy';
export const CONTROL_QUEUE = 'control';
export const CANCEL_EVENT = 'cancel';
const WEEK = 7 * 24 * 3600;

// Retried when the machinery fails (a host or registry down), never once a service
// update failed; kept a week like builds.
export const deployJobOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export const buildJobOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  // Kept for a week: the job page shows them, and re-adding a finished id is a no-op.
  removeOnComplete: { age: WEEK },
  removeOnFail: { age: WEEK },
};

/** The BullMQ queues of one flavour; `prefix` keeps flavours sharing a Redis apart. */
export class Queues {
  private readonly builds = new Map<Arch, Queue<BuildJobData>>();
  private readonly cancels = new Map<Arch, QueueEventsProducer>();
  /** Webhook deliveries' commits, taken in by a worker off the request path. */
  readonly intake: IntakeQueue;
  readonly checks: Queue<CheckJobData>;
  readonly deploy: Queue<DeployJobData>;
  /** Housekeeping on a schedule: catching up missed webhooks. */
  readonly control: Queue;
  /** Where connection errors of the queues go (the process's logger, once it has one). */
  onError: (err: Error) => void = () => undefined;

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
  ) {
    this.intake = new IntakeQueue(connection, prefix);
    this.checks = new Queue<CheckJobData>(CHECKS_QUEUE, { connection, prefix });
    this.control = new Queue(CONTROL_QUEUE, { connection, prefix });
    this.deploy = new Queue<DeployJobData>(DEPLOY_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: deployJobOptions,
    });
    for (const queue of [this.intake.queue, this.checks, this.control, this.deploy])
      this.watch(queue);
  }

  private watch<Q extends { on(event: 'error', listener: (err: Error) => void): unknown }>(
    q: Q,
  ): Q {
    q.on('error', (err) => this.onError(err));
    return q;
  }

  build(pool: Arch): Queue<BuildJobData> {
    let queue = this.builds.get(pool);
    if (!queue) {
      queue = this.watch(
        new Queue<BuildJobData>(buildQueueName(pool), {
          connection: this.connection,
          prefix: this.prefix,
        }),
      );
      this.builds.set(pool, queue);
    }
    return queue;
  }

  allBuildQueues(): Queue<BuildJobData>[] {
    return [...this.builds.values()];
  }

  /** Asks whichever worker runs the job to abort it. */
  async cancelActive(pool: Arch, jobId: string, reason: string): Promise<void> {
    let producer = this.cancels.get(pool);
    if (!producer) {
      producer = this.watch(
        new QueueEventsProducer(buildQueueName(pool), {
          connection: this.connection,
          prefix: this.prefix,
        }),
      );
      this.cancels.set(pool, producer);
    }
    await producer.publishEvent({ eventName: CANCEL_EVENT, jobId, reason });
  }

  /** Coalesced per commit: at most one sync runs and one waits, whatever the burst. */
  async requestCheckSync(repo: string, sha: string): Promise<void> {
    await this.checks.add(
      'sync',
      { repo, sha },
      {
        deduplication: {
          id: `${repo.toLowerCase().replace(/[^a-z0-9]/g, '_')}-${sha}`,
          keepLastIfActive: true,
        },
        attempts: 5,
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: true,
        removeOnFail: { age: WEEK },
      },
    );
  }

  /** Runs the control task `name` now and then every `everyMs` (one schedule, whoever upserts it). */
  async schedule(name: string, everyMs: number): Promise<void> {
    await this.control.upsertJobScheduler(
      name,
      { every: everyMs }, // `every` schedules also run once right away
      { name, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  }

  /**
   * As `schedule`, and runs the task now also when the schedule was there already (a
   * restart): BullMQ keeps an existing schedule's next run, which may be `everyMs` away.
   */
  async scheduleFromNow(name: string, everyMs: number): Promise<void> {
    const existed = await this.control.getJobScheduler(name);
    await this.schedule(name, everyMs);
    // One id while it waits or runs: workers starting together ask for one run.
    if (existed)
      await this.control.add(
        name,
        {},
        { jobId: `${name}-now`, removeOnComplete: true, removeOnFail: true },
      );
  }

  async close(): Promise<void> {
    await Promise.all([
      this.intake.close(),
      this.checks.close(),
      this.deploy.close(),
      this.control.close(),
      ...[...this.builds.values()].map((q) => q.close()),
      ...[...this.cancels.values()].map((p) => p.close()),
    ]);
  }
}
