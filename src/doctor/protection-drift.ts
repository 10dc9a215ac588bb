import type { RepoEntry } from '../config/repo-index.js';
import { CHECK_NAME } from '../plan/check-run-output.js';
import type { DriftWarning } from './warnings.js';

/** A status check branch protection requires; `appId` null or -1: from any source. */
export interface RequiredCheck {
  context: string;
  appId: number | null;
}

/** What branch protection requires on one deployment branch; undefined: the App may not read it. */
export interface BranchProtection {
  repo: string;
  branch: string;
  checks: readonly RequiredCheck[] | undefined;
}

/** The branches a repository's builds deploy from, in config order. */
export function deploymentBranches(entry: RepoEntry): string[] {
  const branches = entry.specs.flatMap((s) => s.build.deployments.map((d) => d.branch));
  return [...new Set(branches)];
}

const fromThisApp = (check: RequiredCheck, appId: number) =>
  check.appId === null || check.appId === -1 || check.appId === appId;

/**
 * Deployment branches whose protection does not require this App's `deployability`
 * check (so a commit that does not build can be merged and deployed), and
 * repositories whose protection the App may not read.
 */
export function protectionDrift(
  branches: readonly BranchProtection[],
  appId: number,
): DriftWarning[] {
  const warnings: DriftWarning[] = [];
  const unreadable = new Set<string>();
  for (const { repo, branch, checks } of branches) {
    if (!checks) {
      unreadable.add(repo);
      continue;
    }
    const ours = checks.filter((c) => c.context === CHECK_NAME);
    if (ours.some((c) => fromThisApp(c, appId))) continue;
    const why = ours.length
      ? `its protection requires "${CHECK_NAME}" from another App (id ${ours.map((c) => c.appId).join(', ')})`
      : `its protection does not require the "${CHECK_NAME}" check`;
    warnings.push({
      kind: 'check-not-required',
      subject: `${repo} ${branch}`,
      message: `${branch} of ${repo} deploys commits that did not build: ${why}`,
    });
  }
  for (const repo of unreadable)
    warnings.push({
      kind: 'protection-unreadable',
      subject: repo,
      message: `cannot read the branch protection of ${repo}: the App needs the "administration: read" permission (accept it in the installation's settings)`,
    });
  return warnings;
}
