import type { Probot } from 'probot';
import type { BranchHead } from '../jobs/tasks/catch-up.js';

/** A branch's head as GitHub has it now, through the installation that can see the repository. */
export function branchHeads(probot: Probot) {
  return async (owner: string, repo: string, branch: string): Promise<BranchHead | undefined> => {
    try {
      const app = await probot.auth();
      const { data: installation } = await app.rest.apps.getRepoInstallation({ owner, repo });
      const octokit = await probot.auth(installation.id);
      const [{ data: head }, { data: info }] = await Promise.all([
        octokit.rest.repos.getBranch({ owner, repo, branch }),
        octokit.rest.repos.get({ owner, repo }),
      ]);
      return { sha: head.commit.sha, cloneUrl: info.clone_url, installationId: installation.id };
    } catch (err) {
      // Not installed on the repository, or no such branch: nothing to catch up.
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  };
}
