import type { RepoEntry } from '../config/repo-index.js';
import { branchOf, type CommitEvent } from './commit-event.js';
import { deploysFrom } from './deploy-jobs.js';

/**
 * How a re-run builds a commit. What asks for it ("Re-run" in GitHub, an admin, new build
 * arguments) does not say who pushed the commit, and a fork's suite names a branch like
 * ours. Only pushes to the repository (or its branch heads read from GitHub) set a branch's
 * head: a commit that is a branch's head now is rebuilt as that push, preferring a branch it
 * deploys from; any other is rebuilt as an untrusted build of the ref named, never staged.
 */
export function rebuildAs(
  entry: RepoEntry,
  heads: Readonly<Record<string, string>>,
  commit: CommitEvent,
): CommitEvent {
  const branchRefs = Object.keys(heads).filter(
    (ref) => branchOf(ref) !== undefined && heads[ref] === commit.sha,
  );
  const deploying = branchRefs.find((ref) =>
    entry.specs.some((s) => deploysFrom(s.build, branchOf(ref)!)),
  );
  const ref = deploying ?? (branchRefs.includes(commit.ref) ? commit.ref : branchRefs.sort()[0]);
  return ref ? { ...commit, ref, fork: false } : { ...commit, fork: true };
}
