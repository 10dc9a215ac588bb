import type { GitHubAuth, InstalledRepo } from './installation-repos.js';

/** A repository's branches and open pull requests, as GitHub lists them (left to src/plan to read). */
export interface RepoRefs {
  branches: unknown[];
  pulls: unknown[];
}

/** Every branch and every open pull request of a repository, all pages of each. */
export function repoRefs(auth: GitHubAuth) {
  return async (repo: InstalledRepo): Promise<RepoRefs> => {
    const octokit = await auth(repo.installationId);
    const where = { owner: repo.owner, repo: repo.name, per_page: 100 };
    const branches: unknown[] = await octokit.paginate(octokit.rest.repos.listBranches, where);
    const pulls: unknown[] = await octokit.paginate(octokit.rest.pulls.list, {
      ...where,
      state: 'open',
    });
    return { branches, pulls };
  };
}
