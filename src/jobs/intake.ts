import type { Job } from 'bullmq';
import type { RepoEntry } from '../config/repo-index.js';
import { planBuilds, supersededBy, type BuildJobData } from '../plan/build-jobs.js';
import { branchOf, type CommitEvent } from '../plan/commit-event.js';
import type { BuildRecord } from '../plan/check-run-output.js';
import { recordField, type CommitStore } from '../store/commit-store.js';
import type { Gates } from './gates.js';
import { buildJobOptions, type Queues } from './queues.js';

const COALESCE_MS = 500;

export interface IntakeDeps {
  queues: Queues;
  store: CommitStore;
  /** Confirmation gates: a cancelled job no longer waits for one. */
  gates?: Pick<Gates, 'forget'>;
}

export interface IntakeResult {
  enqueued: string[];
  superseded?: string;
  /** The ref's head, when the push was refused as older than one already taken. */
  stale?: string;
}

export interface AcceptOptions {
  /** Re-run builds that already finished ("Re-run" in GitHub); the ref's head is left alone. */
  rebuild?: boolean;
  /** A push's `before`: the commit its ref moved from. A push older than one taken is refused. */
  before?: string;
}

const FINISHED = new Set(['completed', 'failed']);
const inProgress = (r: BuildRecord) => r.status === 'queued' || r.status === 'running';
const WAITING = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Takes a commit to check: makes it its ref's head, records it, enqueues its builds
 * (each at most once per spec and pool), supersedes the commit it replaces on its ref,
 * and asks for the check run to be written.
 */
export async function acceptCommit(
  deps: IntakeDeps,
  entry: RepoEntry,
  commit: CommitEvent,
  opts: AcceptOptions = {},
): Promise<IntakeResult> {
  const { queues, store } = deps;
  const repo = entry.fullName;
  // One atomic swap, so overlapping deliveries never both supersede the same commit.
  let old: string | undefined;
  if (!opts.rebuild) {
    const swap = await store.swapHead(repo, commit.ref, commit.sha, opts.before);
    if ('stale' in swap) return { enqueued: [], stale: swap.stale };
    old = supersededBy(swap.heads, commit.ref, commit.sha);
  }
  const known = await store.meta(repo, commit.sha);
  // A re-run keeps how the commit first came (its ref, and whether it is a fork's).
  const meta =
    opts.rebuild && known
      ? { ...known, installationId: commit.installationId }
      : {
          ref: commit.ref,
          fork: commit.fork || (known?.fork ?? false),
          cloneUrl: commit.cloneUrl,
          installationId: commit.installationId,
          checkRunId: known?.checkRunId,
        };
  if (opts.rebuild) delete meta.checkRunId; // a re-run gets a fresh check run, as GitHub expects
  // What GitHub already shows stays known, so a commit arriving again causes no write.
  const lastWritten = opts.rebuild ? undefined : known?.lastWritten;
  await store.saveMeta(repo, commit.sha, { ...meta, lastWritten });

  // A burst of pushes to one branch: a push that finds the last one still building
  // waits a moment, so the next can replace it; a lone push builds at once.
  const delay =
    branchOf(commit.ref) && old && (await store.records(repo, old)).some(inProgress)
      ? { delay: COALESCE_MS }
      : {};
  const enqueued: string[] = [];
  for (const planned of planBuilds(entry, { ...commit, ...meta })) {
    const queue = queues.build(planned.data.pool);
    const existing = await queue.getJob(planned.jobId);
    if (existing) {
      const state = await existing.getState();
      if (!(opts.rebuild && FINISHED.has(state))) continue;
      await existing.remove();
    }
    await store.putRecord(repo, commit.sha, {
      specKey: planned.data.specKey,
      label: entry.specs.find((s) => s.key === planned.data.specKey)?.label ?? planned.data.specKey,
      pool: planned.data.pool,
      jobId: planned.jobId,
      status: 'queued',
      queuedAt: Date.now(),
    });
    await queue.add('build', planned.data, {
      ...buildJobOptions,
      jobId: planned.jobId,
      ...delay,
    });
    enqueued.push(planned.jobId);
  }
  await queues.requestCheckSync(repo, commit.sha);
  if (old) await cancelCommit(deps, entry, old, `superseded by ${commit.sha.slice(0, 7)}`);
  return { enqueued, ...(old ? { superseded: old } : {}) };
}

/** Drops the queued builds of a commit and aborts its running ones. */
export async function cancelCommit(
  deps: IntakeDeps,
  entry: RepoEntry,
  sha: string,
  reason: string,
): Promise<void> {
  const { queues, store } = deps;
  for (const record of await store.records(entry.fullName, sha)) {
    if (record.status !== 'queued' && record.status !== 'running') continue;
    const job = (await queues.build(record.pool as BuildJobData['pool']).getJob(record.jobId)) as
      Job<BuildJobData> | undefined;
    const state = job ? await job.getState() : 'unknown';
    if (job && WAITING.has(state)) {
      try {
        await job.remove();
      } catch {
        // a worker took it in the meantime: it is active now
        await queues.cancelActive(job.data.pool, job.id!, reason);
      }
    } else if (job && state === 'active') {
      await queues.cancelActive(job.data.pool, job.id!, reason);
    }
    await deps.gates?.forget(record.jobId);
    const latest = await store.record(
      entry.fullName,
      sha,
      recordField(record.specKey, record.pool),
    );
    if (latest && (latest.status === 'queued' || latest.status === 'running')) {
      await store.putRecord(entry.fullName, sha, {
        ...latest,
        status: 'cancelled',
        finishedAt: Date.now(),
        error: reason,
      });
    }
  }
  await queues.requestCheckSync(entry.fullName, sha);
}
