import { QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { Arch } from '../config/schema.js';
import { buildQueueName, type BuildJobData } from '../plan/build-jobs.js';
import { processBuild, type BuildDeps } from './build.js';
import { processCheckSync, type CheckDeps } from './checks.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import type { DeployDeps } from './deploy-deps.js';
import { processDeploy } from './deploy.js';
import { startIntakeWorker } from './intake-worker.js';
import {
  CANCEL_EVENT,
  CHECKS_QUEUE,
  CONTROL_QUEUE,
  DEPLOY_QUEUE,
  type CheckJobData,
} from './queues.js';

export interface WorkerOptions {
  /** BullMQ's connection. */
  connection: Redis;
  prefix: string;
  pools: Arch[];
  log: Logger;
  build: BuildDeps;
  checks: CheckDeps;
  /** Deploys run where the deploy credentials are; absent: this worker does not deploy. */
  deploy?: DeployDeps;
  metrics?: Metrics;
  /** Scheduled housekeeping, by job name (catch-up, watch-args, upstream checks). */
  control?: Record<string, () => Promise<unknown>>;
  /** Builds at once per pool; the machine's cores are shared by all of them. */
  buildConcurrency?: number;
  /** A killed worker's job is taken up again by another worker after about this long. */
  lockMs: number;
}

export interface RunningWorkers {
  close(): Promise<void>;
}

/**
 * Starts the intake, a build worker per pool (each listening for cancel events), the
 * check-run writer and the deployer.
 */
export function startWorkers(opts: WorkerOptions): RunningWorkers {
  const { connection, prefix, log } = opts;
  const closers: (() => Promise<void>)[] = [];
  const locking = {
    lockDuration: opts.lockMs,
    stalledInterval: Math.max(1_000, Math.floor(opts.lockMs / 2)),
  };
  // Webhook deliveries' commits, which the receiver only enqueues.
  closers.push(
    startIntakeWorker({ deps: opts.build, connection, prefix, log, lockMs: opts.lockMs }),
  );

  for (const pool of opts.pools) {
    const name = buildQueueName(pool);
    const worker = new Worker<BuildJobData>(
      name,
      (job, token, signal) => processBuild(opts.build, job, signal, token),
      {
        connection,
        prefix,
        concurrency: opts.buildConcurrency ?? 1,
        ...locking,
      },
    );
    worker.on('error', (err) => log.error({ err, queue: name }, 'build worker error'));
    worker.on('failed', (job, err) =>
      log.warn({ jobId: job?.id, reason: err.message }, 'build job failed'),
    );
    worker.on('completed', (job) => log.info({ jobId: job.id }, 'build job completed'));
    counted(worker, opts.metrics);

    const events = new QueueEvents(name, { connection, prefix });
    events.on('error', (err) => log.error({ err, queue: name }, 'queue events error'));
    (events as unknown as NodeJS.EventEmitter).on(
      CANCEL_EVENT,
      (args: { jobId: string; reason?: string }) => {
        if (worker.cancelJob(args.jobId, args.reason))
          log.info({ jobId: args.jobId, reason: args.reason }, 'build cancelled');
      },
    );
    closers.push(
      () => worker.close(),
      () => events.close(),
    );
  }

  const checks = new Worker<CheckJobData>(
    CHECKS_QUEUE,
    (job) => processCheckSync(opts.checks, job),
    { connection, prefix, concurrency: 4, ...locking },
  );
  checks.on('error', (err) => log.error({ err }, 'check-run worker error'));
  checks.on('failed', (job, err) =>
    log.warn({ jobId: job?.id, reason: err.message }, 'check-run write failed'),
  );
  closers.push(() => checks.close());

  if (opts.deploy) {
    const deployDeps = opts.deploy;
    const deploys = new Worker<DeployJobData>(
      DEPLOY_QUEUE,
      (job, token) => processDeploy(deployDeps, job, token),
      // Services are serialised by their own locks; different services deploy in parallel.
      { connection, prefix, concurrency: 4, ...locking },
    );
    deploys.on('error', (err) => log.error({ err }, 'deploy worker error'));
    deploys.on('failed', (job, err) =>
      log.warn({ jobId: job?.id, reason: err.message }, 'deploy failed'),
    );
    counted(deploys, opts.metrics);
    deploys.on('completed', (job, result) =>
      log.info({ jobId: job.id, result }, 'deploy finished'),
    );
    closers.push(() => deploys.close());
  }

  const tasks = opts.control ?? {};
  if (Object.keys(tasks).length) {
    const control = new Worker(
      CONTROL_QUEUE,
      async (job) => {
        const task = tasks[job.name];
        if (!task) throw new UnrecoverableError(`no scheduled task named ${job.name}`);
        return task();
      },
      { connection, prefix, ...locking },
    );
    control.on('error', (err) => log.error({ err }, 'control worker error'));
    control.on('completed', (job, result: unknown) => {
      if (Array.isArray(result) ? result.length : result)
        log.info({ task: job.name, result }, 'scheduled task done');
    });
    control.on('failed', (job, err) =>
      log.warn({ task: job?.name, reason: err.message }, 'scheduled task failed'),
    );
    closers.push(() => control.close());
  }

  return {
    async close() {
      await Promise.all(closers.map((c) => c()));
    },
  };
}

/** Counts and times a worker's finished jobs. */
function counted(worker: Worker, metrics: Metrics | undefined): void {
  if (!metrics) return;
  worker.on('completed', (job) => metrics.jobFinished(worker.name, 'completed', job));
  worker.on('failed', (job) => metrics.jobFinished(worker.name, 'failed', job));
}
