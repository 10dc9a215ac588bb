import type { Job } from 'bullmq';
import type { RepoEntry } from '../config/repo-index.js';
import {
  buildPriority,
  planBuilds,
  type BuildJobData,
  type PlannedBuild,
} from '../plan/build-jobs.js';
import { coalesceDelay, decideIntake } from '../plan/intake.js';
import type { CommitEvent } from '../plan/commit-event.js';
import type { BuildRecord } from '../plan/check-run-output.js';
import { recordField, type CommitStore } from '../store/commit-store.js';
import type { Gates } from '../store/gates.js';
import { buildJobOptions, type Queues } from './queues.js';

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
  let heads: Record<string, string>;
  if (opts.rebuild) heads = await store.heads(repo);
  else {
    const swap = await store.swapHead(repo, commit.ref, commit.sha, opts.before);
    if ('stale' in swap) return { enqueued: [], stale: swap.stale };
    heads = swap.heads;
  }
  const known = await store.meta(repo, commit.sha);
  const {
    event,
    meta,
    superseded: old,
  } = decideIntake(entry, {
    commit,
    rebuild: Boolean(opts.rebuild),
    heads,
    known,
  });
  const oldBuilding = old ? (await store.records(repo, old)).some(inProgress) : false;
  const delayMs = coalesceDelay(commit, oldBuilding);
  const toEnqueue: PlannedBuild[] = [];
  for (const build of planBuilds(entry, event)) {
    const existing = await queues.build(build.data.pool).getJob(build.jobId);
    if (existing) {
      const state = await existing.getState();
      if (!(opts.rebuild && FINISHED.has(state))) continue;
      await existing.remove();
    }
    toEnqueue.push(build);
  }
  // Meta and records in one write, so the check run never shows the commit half taken in.
  await store.saveCommit(
    repo,
    commit.sha,
    meta,
    toEnqueue.map((build) => ({
      specKey: build.data.specKey,
      label: entry.specs.find((s) => s.key === build.data.specKey)?.label ?? build.data.specKey,
      pool: build.data.pool,
      jobId: build.jobId,
      status: 'queued',
      queuedAt: Date.now(),
    })),
  );
  for (const build of toEnqueue) {
    await queues.build(build.data.pool).add('build', build.data, {
      ...buildJobOptions,
      jobId: build.jobId,
      ...(delayMs ? { delay: delayMs } : {}),
      ...buildPriority(build.data),
    });
  }
  if (old) await cancelCommit(deps, entry, old, `superseded by ${commit.sha.slice(0, 7)}`);
  const enqueued = toEnqueue.map((build) => build.jobId);
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
  const stopped: BuildRecord[] = [];
  for (const record of await store.records(entry.fullName, sha)) {
    if (!inProgress(record)) continue;
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
    stopped.push(record);
  }
  // Read again just before the one write: a worker may have finished a build meanwhile.
  const cancelled: BuildRecord[] = [];
  for (const record of stopped) {
    const latest = await store.record(
      entry.fullName,
      sha,
      recordField(record.specKey, record.pool),
    );
    if (latest && inProgress(latest))
      cancelled.push({ ...latest, status: 'cancelled', finishedAt: Date.now(), error: reason });
  }
  await store.putRecords(entry.fullName, sha, cancelled);
}
