import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import { acceptCommit, type IntakeDeps } from './intake.js';
import { moveOldIntakeStream } from './intake-migrate.js';
import { INTAKE_QUEUE, type IntakeJobData } from './intake-queue.js';

export interface IntakeWorkerDeps extends IntakeDeps {
  index: RepoIndex;
}

/** What became of a delivery's commit (the job's return value, kept a day). */
export interface IntakeOutcome {
  repo?: string;
  enqueued: number;
  superseded?: string;
  stale?: string;
  ignored?: string;
}

/** Takes in the commit of one webhook delivery, as the receiver once did on the request path. */
export async function processIntake(
  deps: IntakeWorkerDeps,
  job: Job<IntakeJobData>,
): Promise<IntakeOutcome> {
  const { commit, rebuild, before } = job.data;
  const entry = deps.index.get(repoKey(commit.owner, commit.name));
  // The configuration changed between the delivery and now.
  if (!entry) return { enqueued: 0, ignored: 'repository not watched by this flavour' };
  const result = await acceptCommit(deps, entry, commit, { rebuild, before });
  return {
    repo: entry.fullName,
    enqueued: result.enqueued.length,
    ...(result.superseded ? { superseded: result.superseded } : {}),
    ...(result.stale ? { stale: result.stale } : {}),
  };
}

export interface IntakeWorkerOptions {
  deps: IntakeWorkerDeps;
  connection: Redis;
  prefix: string;
  log: Logger;
  /** A killed worker's delivery is taken up by another after about this long. */
  lockMs: number;
}

/**
 * Takes one delivery at a time, in the order they came; a delivery that fails is retried
 * with backoff (BullMQ), and one a killed worker held is taken up as a stalled job. Between
 * processes, the head swap keeps deliveries of one ref from racing.
 */
export function startIntakeWorker(opts: IntakeWorkerOptions): () => Promise<void> {
  const { log, deps, connection, prefix, lockMs } = opts;
  void moveOldIntakeStream(connection, prefix, deps.queues.intake, log).catch((err: Error) =>
    log.error({ err: err.message }, 'moving the old intake stream failed'),
  );
  const worker = new Worker<IntakeJobData, IntakeOutcome>(
    INTAKE_QUEUE,
    (job) => processIntake(deps, job),
    {
      connection: connection as ConnectionOptions,
      prefix,
      concurrency: 1,
      lockDuration: lockMs,
      stalledInterval: Math.max(1_000, Math.floor(lockMs / 2)),
    },
  );
  worker.on('error', (err) => log.error({ err }, 'intake worker error'));
  worker.on('completed', (job, outcome) => {
    const { delivery, commit } = job.data;
    const fields = { delivery, repo: outcome.repo, sha: commit.sha, ref: commit.ref, ...outcome };
    if (outcome.stale) log.info(fields, 'push older than the ref head ignored');
    else if (outcome.ignored) log.debug(fields, 'delivery ignored');
    else log.info(fields, 'commit accepted');
  });
  worker.on('failed', (job, err) =>
    log.warn(
      {
        delivery: job?.data.delivery,
        sha: job?.data.commit.sha,
        attempts: job?.attemptsMade,
        reason: err.message,
      },
      'intake of a delivery failed',
    ),
  );
  // A delivery being taken in is finished first, unless Redis is out of reach: then its
  // job would wait for ever, and is taken up again as a stalled job anyway.
  return () => worker.close(connection.status !== 'ready');
}
