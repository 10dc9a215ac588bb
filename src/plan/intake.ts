import type { RepoEntry } from '../config/repo-index.js';
import type { CommitMeta } from '../store/commit-store.js';
import { branchOf, type CommitEvent } from './commit-event.js';
import { rebuildAs } from './rebuild-as.js';

/** A push that finds the commit it replaces still building waits this long before building. */
export const COALESCE_MS = 500;

/** What intake knows of a commit when it arrives. */
export interface IntakeFacts {
  commit: CommitEvent;
  /** A re-run ("Re-run" in GitHub, an admin, new build arguments): the ref's head is left alone. */
  rebuild: boolean;
  /** The refs' heads: as they were just before this commit's swap, or now for a re-run. */
  heads: Readonly<Record<string, string>>;
  /** How the commit came before, if it did. */
  known?: CommitMeta;
}

/** What intake does with it. */
export interface IntakeDecision {
  /** The event to build as: which ref, and whether it is trusted to be staged. */
  event: CommitEvent;
  meta: CommitMeta;
  /** The commit this one replaces on its ref, to cancel. */
  superseded?: string;
}

/**
 * Whether a build may be staged is decided by the event that brings the commit (which ref
 * of which repository), never remembered per commit: a fork's pull request may carry a
 * commit that a push to a deployment branch brings later. A re-run names the ref the
 * commit was first known by (a fork's suite names its own branch).
 */
export function decideIntake(entry: RepoEntry, facts: IntakeFacts): IntakeDecision {
  const { commit, rebuild, heads, known } = facts;
  const event = rebuild
    ? rebuildAs(entry, heads, { ...commit, ref: known?.ref ?? commit.ref })
    : commit;
  const meta: CommitMeta = {
    ref: event.ref,
    fork: event.fork,
    cloneUrl: event.cloneUrl,
    installationId: event.installationId,
    // A re-run gets a fresh check run, as GitHub expects; otherwise what GitHub already
    // shows stays known, so a commit arriving again causes no write.
    ...(rebuild ? {} : { checkRunId: known?.checkRunId, lastWritten: known?.lastWritten }),
  };
  const superseded = rebuild ? undefined : supersededBy(heads, commit.ref, commit.sha);
  return { event, meta, ...(superseded ? { superseded } : {}) };
}

/**
 * A burst of pushes to one branch: a push that finds the commit it replaces still
 * building waits a moment, so the next can replace it; a lone push builds at once.
 */
export function coalesceDelay(commit: CommitEvent, supersededStillBuilding: boolean): number {
  return branchOf(commit.ref) && supersededStillBuilding ? COALESCE_MS : 0;
}

/**
 * The commit a new head replaces on its ref, if that commit is no longer the head
 * of any other ref (a branch and its PR often share one).
 */
export function supersededBy(
  heads: Readonly<Record<string, string>>,
  ref: string,
  newSha: string,
): string | undefined {
  const old = heads[ref];
  if (old === undefined || old === newSha) return undefined;
  const stillHead = Object.entries(heads).some(([r, sha]) => r !== ref && sha === old);
  return stillHead ? undefined : old;
}
