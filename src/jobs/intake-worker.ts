import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import { acceptCommit, type IntakeDeps } from './intake.js';
import { INTAKE_QUEUE, type IntakeJobData } from './queues.js';

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

/**
 * Takes one delivery at a time, in the order they came; between processes, the head
 * swap keeps deliveries of one ref from racing.
 */
export function startIntakeWorker(opts: {
  deps: IntakeWorkerDeps;
  connection: ConnectionOptions;
  prefix: string;
  log: Logger;
  lockDuration: number;
  stalledInterval: number;
}): () => Promise<void> {
  const { log, deps, connection, prefix, lockDuration, stalledInterval } = opts;
  const worker = new Worker<IntakeJobData, IntakeOutcome>(
    INTAKE_QUEUE,
    (job) => processIntake(deps, job),
    { connection, prefix, concurrency: 1, lockDuration, stalledInterval },
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
  return () => worker.close();
}
