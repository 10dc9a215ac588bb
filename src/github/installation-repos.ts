import type { Octokit } from './check-runs.js';

/** A repository one installation of the App can see. */
export interface InstalledRepo {
  owner: string;
  name: string;
  fullName: string;
  /** Where its commits are fetched from. */
  cloneUrl: string;
  installationId: number;
}

/** Octokit as the App itself (no id) or as one of its installations. */
export type GitHubAuth = (installationId?: number) => Promise<Octokit>;

/**
 * Every repository the App's installations can see, all pages of each. Suspended
 * installations are left out: GitHub sends them no events and gives them no tokens.
 */
export async function installationRepos(auth: GitHubAuth): Promise<InstalledRepo[]> {
  const app = await auth();
  const installations = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
  const repos: InstalledRepo[] = [];
  for (const installation of installations) {
    if (installation.suspended_at) continue;
    const octokit = await auth(installation.id);
    const visible = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, {
      per_page: 100,
    });
    for (const repo of visible)
      repos.push({
        owner: repo.owner.login,
        name: repo.name,
        fullName: repo.full_name,
        cloneUrl: repo.clone_url,
        installationId: installation.id,
      });
  }
  return repos;
}
