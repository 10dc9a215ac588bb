import { repoKey, type RepoIndex } from '../config/repo-index.js';
import type { FoundJob } from '../jobs/find-job.js';
import type { Gates } from '../store/gates.js';
import { droppedLine, queueLogPlace, readLogTail } from '../jobs/job-log-store.js';
import { refLabel, shortSha, took, when, type When } from './format.js';

/** How much of its log a job page shows; the rest is a link away. */
export const PAGE_LOG_BYTES = 256 * 1024;

export const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed']);

/** A log entry may hold several lines (JobLog batches them). */
export const logLines = (entries: readonly string[]): string[] =>
  entries.flatMap((e) => e.split(/\r\n|\r|\n/));

export interface JobModel {
  id: string;
  kind: 'build' | 'deploy';
  title: string;
  repo: string;
  sha: string;
  short: string;
  ref: string;
  /** The build spec and pool, or the deployment branch. */
  what: string;
  state: string;
  finished: boolean;
  result?: string;
  attempts: string;
  queued?: When;
  started?: When;
  ended?: When;
  waited?: string;
  ran?: string;
  failedReason?: string;
  lines: string[];
  /** Set when the page shows only the end of the log: where the whole of it is. */
  earlier?: { href: string; entries: number };
  /** The SSE stream of the rest of the log, while the job may still write to it. */
  stream?: string;
  /** Operations of this job waiting for an admin. */
  waiting: { op: string; description: string }[];
  /** Queued, or running a build: an admin may stop it. */
  cancellable: boolean;
}

/** Everything the job page shows, read once. */
export async function jobModel(
  deps: { index: RepoIndex; gates?: Gates },
  found: FoundJob,
): Promise<JobModel> {
  const { job, queue } = found;
  const id = job.id!;
  // State first: a job writes its whole log before it finishes, so a finished job's log is complete.
  const state = await job.getState();
  const log = await readLogTail(queueLogPlace(queue, id), PAGE_LOG_BYTES);
  const notShown = log.start - log.dropped.entries;
  const lines = logLines(log.entries);
  if (log.dropped.entries && !notShown) lines.unshift(droppedLine(log.dropped));
  const finished = FINISHED.has(state);
  const waiting = ((await deps.gates?.pending()) ?? []).filter((g) => g.jobId === id);
  const data = job.data;
  const ref = found.kind === 'build' ? found.job.data.ref : `refs/heads/${found.job.data.branch}`;
  const entry = deps.index.get(repoKey(...(data.repo.split('/') as [string, string])));
  const spec = entry?.specs.find((s) => s.key === data.specKey);
  const label = spec?.label ?? data.specKey;
  const what =
    found.kind === 'build'
      ? `${label} on ${found.job.data.pool}`
      : `${label}, deployments of ${found.job.data.branch}`;
  return {
    id,
    kind: found.kind,
    title: `${found.kind === 'build' ? 'Build' : 'Deploy'} ${shortSha(data.sha)} of ${data.repo}`,
    repo: data.repo,
    sha: data.sha,
    short: shortSha(data.sha),
    ref: refLabel(ref),
    what,
    state,
    finished,
    result: typeof job.returnvalue === 'string' ? job.returnvalue : undefined,
    attempts: `${job.attemptsMade} of ${job.opts.attempts ?? 1}`,
    queued: when(job.timestamp),
    started: when(job.processedOn),
    ended: when(job.finishedOn),
    waited: took(job.timestamp, job.processedOn),
    ran: took(job.processedOn, job.finishedOn),
    failedReason: job.failedReason || undefined,
    lines,
    earlier: notShown
      ? { href: `/jobs/${encodeURIComponent(id)}/log.txt`, entries: notShown }
      : undefined,
    stream: finished ? undefined : `/jobs/${encodeURIComponent(id)}/log?from=${log.total}`,
    waiting: waiting.map((g) => ({ op: g.op, description: g.description })),
    cancellable: !finished && (found.kind === 'build' || state !== 'active'),
  };
}
