import type { RequiredCheck } from '../doctor/protection-drift.js';
import type { Octokit } from './check-runs.js';

/**
 * The status checks branch protection requires on `branch`: none when the branch
 * is not protected or requires no checks (GitHub answers 404 for both), undefined
 * when the App may not read its protection (403: no `administration: read`).
 */
export async function requiredChecks(
  octokit: Octokit,
  owner: string,
  repo: string,
  branch: string,
): Promise<RequiredCheck[] | undefined> {
  try {
    const { data } = await octokit.rest.repos.getStatusChecksProtection({ owner, repo, branch });
    const checks = (data.checks ?? []).map((c) => ({ context: c.context, appId: c.app_id }));
    // Older GitHub Enterprise Server versions answer only the (deprecated) contexts.
    const listed = new Set(checks.map((c) => c.context));
    const contexts = (data.contexts ?? []).filter((c) => !listed.has(c));
    return [...checks, ...contexts.map((context) => ({ context, appId: null }))];
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404) return [];
    if (status === 403) return undefined;
    throw err;
  }
}
