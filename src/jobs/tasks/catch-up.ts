import type { RepoIndex } from '../../config/repo-index.js';
import { deploysFrom } from '../../plan/deploy-jobs.js';
import type { DeployStore } from '../../store/deploy-store.js';
import { acceptCommit, type IntakeDeps } from '../intake.js';

export interface BranchHead {
  sha: string;
  cloneUrl: string;
  installationId: number;
}

export interface CatchUpDeps extends IntakeDeps {
  index: RepoIndex;
  deploys: DeployStore;
  /** The branch's head as GitHub has it now; undefined when it cannot be seen. */
  head: (owner: string, name: string, branch: string) => Promise<BranchHead | undefined>;
}

/**
 * Missed webhooks: each deployment branch's head is compared with what was last
 * deployed from it, and a commit that differs is taken in as if it had been pushed.
 */
export async function catchUp(deps: CatchUpDeps): Promise<string[]> {
  const started: string[] = [];
  for (const entry of deps.index.values()) {
    // Docker deployments and unikernels alike (mirage-www's master and next).
    const branches = new Set(entry.specs.flatMap((s) => s.build.deployments.map((d) => d.branch)));
    for (const branch of branches) {
      const head = await deps.head(entry.repo.owner, entry.repo.name, branch);
      if (!head) continue;
      const specs = entry.specs.filter((s) => deploysFrom(s.build, branch));
      const deployed = await Promise.all(
        specs.map((s) => deps.deploys.deployedSha(entry.fullName, s.key, branch)),
      );
      const known = (await deps.store.heads(entry.fullName))[`refs/heads/${branch}`];
      if (deployed.every((sha) => sha === head.sha) || known === head.sha) continue;
      await acceptCommit(deps, entry, {
        owner: entry.repo.owner,
        name: entry.repo.name,
        cloneUrl: head.cloneUrl,
        sha: head.sha,
        ref: `refs/heads/${branch}`,
        fork: false,
        installationId: head.installationId,
      });
      started.push(`${entry.fullName}@${branch}:${head.sha.slice(0, 7)}`);
    }
  }
  return started;
}
