import { createHash } from 'node:crypto';
import type { Arch, Build, Deployment, UnikernelDeployment } from '../config/schema.js';

/** A deploy of one build spec's image, built at `sha`, to the deployments of `branch`. */
export interface DeployJobData {
  repo: string;
  specKey: string;
  branch: string;
  sha: string;
  cloneUrl: string;
  installationId: number;
  /** An admin's rollback: this one service, to this earlier image, whatever the branch head. */
  rollback?: RollbackTarget;
}

export interface RollbackTarget {
  service: string;
  image: string;
  digest: string;
  by: string;
}

/** The docker deployments of a build that follow `branch` (unikernels deploy differently). */
export function deploymentsFor(build: Build, branch: string): Deployment[] {
  return build.kind === 'docker' ? build.deployments.filter((d) => d.branch === branch) : [];
}

/** The unikernel deployments of a build that follow `branch`. */
export function unikernelDeploymentsFor(build: Build, branch: string): UnikernelDeployment[] {
  return build.kind === 'unikernel' ? build.deployments.filter((d) => d.branch === branch) : [];
}

/** Whether a push to `branch` deploys this build, so its image must be staged. */
export const deploysFrom = (build: Build, branch: string): boolean =>
  deploymentsFor(build, branch).length > 0 || unikernelDeploymentsFor(build, branch).length > 0;

/** Where a unikernel build is staged: `live-mirage-<target>`. */
export const unikernelStagingRef = (stagingRepo: string, target: string): string =>
  `${stagingRepo}:live-mirage-${target}`;

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);

export const deployJobId = (specKey: string, sha: string, branch: string): string =>
  `deploy-${specKey}-${sha}-${short(branch)}`;

/**
 * Where a pool's image is staged before the manifest list is written: the
 * staging repository, tagged `live-<target>-<pool>` (target made tag-safe).
 */
export function stagingRef(stagingRepo: string, target: string, pool: Arch): string {
  const name = target.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '');
  const tag = `live-${name}-${pool}`;
  return `${stagingRepo}:${tag.length <= 128 ? tag : `live-${short(target)}-${pool}`}`;
}

/** Docker's platform for a pool, as the manifest list records it. */
export const POOL_PLATFORMS: Record<Arch, { os: string; architecture: string; variant?: string }> =
  {
    'linux-x86_64': { os: 'linux', architecture: 'amd64' },
    'linux-arm64': { os: 'linux', architecture: 'arm64', variant: 'v8' },
    'linux-ppc64': { os: 'linux', architecture: 'ppc64le' },
    'linux-s390x': { os: 'linux', architecture: 's390x' },
    'linux-riscv64': { os: 'linux', architecture: 'riscv64' },
  };

/** The `--platform` of a pool's builds, e.g. linux/arm64/v8. */
export function platformOf(pool: Arch): string {
  const p = POOL_PLATFORMS[pool];
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The key a service is known by: its name is unique only on its engine. */
export const serviceKey = (context: string, name: string): string => `${context}/${name}`;
