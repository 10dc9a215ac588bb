import type { RepoEntry, RepoIndex } from '../../config/repo-index.js';
import { acceptCommit, type IntakeDeps } from '../intake.js';

export interface PollDeps extends IntakeDeps {
  index: RepoIndex;
  /** The commit a branch points at now (anonymous `git ls-remote`), undefined if none. */
  head: (cloneUrl: string, branch: string) => Promise<string | undefined>;
  cloneUrl: (entry: RepoEntry) => string;
}

/** Every deployment branch of a repository (docker and unikernel builds). */
export function deploymentBranches(entry: RepoEntry): string[] {
  const branches = entry.specs.flatMap((s) =>
    (s.build.deployments as { branch: string }[]).map((d) => d.branch),
  );
  return [...new Set(branches)];
}

/**
 * Local mode's webhooks: deployment branch heads are read with `git ls-remote`
 * and a head not seen before is taken in as if it had been pushed.
 */
export async function pollHeads(deps: PollDeps): Promise<string[]> {
  const taken: string[] = [];
  for (const entry of deps.index.values()) {
    const cloneUrl = deps.cloneUrl(entry);
    const known = await deps.store.heads(entry.fullName);
    for (const branch of deploymentBranches(entry)) {
      const sha = await deps.head(cloneUrl, branch);
      if (!sha || known[`refs/heads/${branch}`] === sha) continue;
      await acceptCommit(deps, entry, {
        owner: entry.repo.owner,
        name: entry.repo.name,
        cloneUrl,
        sha,
        ref: `refs/heads/${branch}`,
        fork: false,
        installationId: 0,
      });
      taken.push(`${entry.fullName}@${branch}:${sha.slice(0, 7)}`);
    }
  }
  return taken;
}
