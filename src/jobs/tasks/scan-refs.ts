import { repoKey, type RepoEntry, type RepoIndex } from '../../config/repo-index.js';
import type { InstalledRepo } from '../../github/installation-repos.js';
import type { RepoRefs } from '../../github/repo-refs.js';
import {
  branchOf,
  parseListedBranch,
  parseListedPullRequest,
  type CommitEvent,
} from '../../plan/commit-event.js';
import { acceptCommit, type IntakeDeps } from '../intake.js';
import { deploymentBranches } from './poll-heads.js';

export interface ScanRefsDeps extends IntakeDeps {
  index: RepoIndex;
  /** Every repository the App's installations can see. */
  visibleRepos: () => Promise<InstalledRepo[]>;
  /** A repository's branches and open pull requests, as GitHub lists them now. */
  refs: (repo: InstalledRepo) => Promise<RepoRefs>;
}

/** What a ref the deployer never saw moved from: nothing, as GitHub's push of a new branch says. */
const NO_COMMIT = '0'.repeat(40);

/**
 * Every branch and open pull request of each watched repository the App can see,
 * taken in as their push or `pull_request` webhook would bring them, when their head
 * is not the one already taken: a deployer starting on existing repositories checks
 * them all, and webhooks missed later are caught up. Deployment branches are left to
 * catch-up, which also compares them with what was deployed.
 */
export async function scanRefs(deps: ScanRefsDeps): Promise<string[]> {
  const taken: string[] = [];
  const failed: string[] = [];
  const seen = new Set<string>();
  for (const repo of await deps.visibleRepos()) {
    const entry = deps.index.get(repoKey(repo.owner, repo.name));
    if (!entry || seen.has(entry.fullName)) continue;
    seen.add(entry.fullName);
    try {
      taken.push(...(await scanRepo(deps, entry, repo)));
    } catch (err) {
      failed.push(`${entry.fullName}: ${(err as Error).message}`);
    }
  }
  if (failed.length)
    throw new Error(
      `listing branches and pull requests failed for ${failed.join('; ')} (taken in: ${taken.join(', ') || 'nothing'})`,
    );
  return taken;
}

async function scanRepo(
  deps: ScanRefsDeps,
  entry: RepoEntry,
  repo: InstalledRepo,
): Promise<string[]> {
  // Read before the lists: a push taken in meanwhile then refuses the listed head as older.
  const known = await deps.store.heads(entry.fullName);
  const { branches, pulls } = await deps.refs(repo);
  const deploying = new Set(deploymentBranches(entry));
  const commits = [
    ...branches.map((b) => parseListedBranch(repo, b)),
    ...pulls.map((p) => parseListedPullRequest(repo.installationId, p)),
  ].flatMap((parsed): CommitEvent[] => ('commit' in parsed ? [parsed.commit] : []));
  const taken: string[] = [];
  for (const commit of commits) {
    const branch = branchOf(commit.ref);
    if (branch !== undefined && deploying.has(branch)) continue;
    if (known[commit.ref] === commit.sha) continue;
    const result = await acceptCommit(deps, entry, commit, {
      before: known[commit.ref] ?? NO_COMMIT,
    });
    if (!result.stale) taken.push(`${entry.fullName}@${commit.ref}:${commit.sha.slice(0, 7)}`);
  }
  return taken;
}
