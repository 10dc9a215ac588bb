import type { RepoEntry } from '../config/repo-index.js';
import type { Arch } from '../config/schema.js';
import { branchOf, type CommitEvent } from './commit-event.js';
import { deploysFrom } from './deploy-jobs.js';

/** What a build job carries: identities only; the worker looks up the spec and fetches tokens. */
export interface BuildJobData {
  repo: string;
  cloneUrl: string;
  sha: string;
  ref: string;
  specKey: string;
  pool: Arch;
  fork: boolean;
  installationId: number;
  /** Push the image to the staging repository afterwards: the commit is to be deployed. */
  stage?: boolean;
}

export interface PlannedBuild {
  queue: `build-${Arch}`;
  jobId: string;
  data: BuildJobData;
}

/**
 * BullMQ job ids may not contain ':'; ours are made of hex, arch names and '-'.
 * A build that also stages its image has an id of its own, so a commit built
 * earlier from another branch is staged when it reaches a deployment branch.
 */
export const buildJobId = (specKey: string, sha: string, pool: Arch, stage = false): string =>
  `build-${specKey}-${sha}-${pool}${stage ? '-stage' : ''}`;

export const buildQueueName = (pool: Arch): `build-${Arch}` => `build-${pool}`;

/** One build per build spec × pool of the repository, keyed so a commit is built once. */
export function planBuilds(entry: RepoEntry, commit: CommitEvent): PlannedBuild[] {
  const planned: PlannedBuild[] = [];
  const branch = branchOf(commit.ref);
  for (const spec of entry.specs) {
    const pools: Arch[] = spec.build.kind === 'docker' ? spec.build.archs : ['linux-x86_64'];
    const stage = !commit.fork && branch !== undefined && deploysFrom(spec.build, branch);
    for (const pool of pools) {
      planned.push({
        queue: buildQueueName(pool),
        jobId: buildJobId(spec.key, commit.sha, pool, stage),
        data: {
          repo: entry.fullName,
          cloneUrl: commit.cloneUrl,
          sha: commit.sha,
          ref: commit.ref,
          specKey: spec.key,
          pool,
          fork: commit.fork,
          installationId: commit.installationId,
          ...(stage ? { stage } : {}),
        },
      });
    }
  }
  return planned;
}

/**
 * Builds to be deployed come first (BullMQ takes jobs without a priority before any
 * with one), then other branches' builds, then pull requests from forks, each in order.
 */
export function buildPriority(data: BuildJobData): { priority?: number } {
  if (data.stage) return {};
  return { priority: data.fork ? 2 : 1 };
}
