import { Queue, QueueEventsProducer, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { createHash } from 'node:crypto';
import type { Arch } from '../config/schema.js';
import type { BuildJobData } from '../plan/build-jobs.js';
import type { CommitEvent } from '../plan/commit-event.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import { buildQueueName } from '../plan/build-jobs.js';

export interface CheckJobData {
  repo: string;
  sha: string;
}

/** A webhook delivery's commit, for a worker to take in (`acceptCommit`). */
export interface IntakeJobData {
  /** GitHub's delivery id (`X-GitHub-Delivery`), for the logs. */
  delivery: string;
  commit: CommitEvent;
  rebuild?: boolean;
  /** A push's `before`. */
  before?: string;
}

export const INTAKE_QUEUE = 'intake';
export const CHECKS_QUEUE = 'checks';
export const DEPLOY_QUEUE = 'deploy';
export const CONTROL_QUEUE = 'control';
export const CANCEL_EVENT = 'cancel';
const DAY = 24 * 3600;
const WEEK = 7 * DAY;

export const intakeJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  // Kept a day: GitHub redelivers with the same delivery id, so the same job id, and
  // adding a job whose id is kept is a no-op. A late redelivery is ignored this way.
  removeOnComplete: { age: DAY },
  // Gone once it failed for good, so that GitHub's redelivery of it is taken.
  removeOnFail: true,
};

/** The intake job id of a delivery; delivery ids are the sender's text, and may hold ':'. */
export const intakeJobId = (delivery: string): string =>
  `delivery-${createHash('sha256').update(delivery).digest('hex').slice(0, 32)}`;

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
  readonly intake: Queue<IntakeJobData>;
  readonly checks: Queue<CheckJobData>;
  readonly deploy: Queue<DeployJobData>;
  /** Housekeeping on a schedule: catching up missed webhooks. */
  readonly control: Queue;
  /** Where connection errors of the queues go (the process's logger, once it has one). */
  onError: (err: Error) => void = () => undefined;

  constructor(
    private readonly connection: ConnectionOptions,
    readonly prefix: string,
  ) {
    this.intake = new Queue<IntakeJobData>(INTAKE_QUEUE, { connection, prefix });
    this.checks = new Queue<CheckJobData>(CHECKS_QUEUE, { connection, prefix });
    this.control = new Queue(CONTROL_QUEUE, { connection, prefix });
    this.deploy = new Queue<DeployJobData>(DEPLOY_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: deployJobOptions,
    });
    for (const queue of [this.intake, this.checks, this.control, this.deploy]) this.watch(queue);
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

  private pendingIntake: { data: IntakeJobData; done: (err?: unknown) => void }[] = [];

  /**
   * One Redis command: a delivery seen before (within a day) adds nothing. Deliveries
   * handled in the same turn of the event loop (a busy receiver) share one write.
   */
  enqueueIntake(data: IntakeJobData): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pendingIntake.length === 0) setImmediate(() => void this.flushIntake());
      this.pendingIntake.push({ data, done: (err) => (err ? reject(err) : resolve()) });
    });
  }

  private async flushIntake(): Promise<void> {
    const batch = this.pendingIntake;
    this.pendingIntake = [];
    const job = ({ data }: (typeof batch)[number]) => ({
      name: 'commit',
      data,
      opts: { ...intakeJobOptions, jobId: intakeJobId(data.delivery) },
    });
    try {
      if (batch.length === 1) {
        const [{ name, data, opts }] = batch.map(job);
        await this.intake.add(name, data, opts);
      } else await this.intake.addBulk(batch.map(job));
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.done(err);
    }
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
