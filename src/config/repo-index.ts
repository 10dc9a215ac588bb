import { createHash } from 'node:crypto';
import type { Arch, Build, Flavour, Repo } from './schema.js';

/** One build of a repository, with the key that identifies it across events. */
export interface BuildSpec {
  /** Stable across restarts: the same build options give the same key, whatever deploys it. */
  key: string;
  label: string;
  build: Build;
}

export interface RepoEntry {
  repo: Repo;
  fullName: string;
  specs: BuildSpec[];
}

export type RepoIndex = ReadonlyMap<string, RepoEntry>;

/** The part of a build that decides what is built (deployments do not). */
function buildIdentity(build: Build): unknown {
  if (build.kind === 'unikernel') {
    return {
      kind: build.kind,
      dockerfile: build.dockerfile,
      target: build.target,
      args: build.args,
    };
  }
  // Keys stay what they were for builds that take no arguments from elsewhere.
  const { argsFrom, ...options } = build.options;
  return {
    kind: build.kind,
    dockerfile: build.dockerfile,
    archs: build.archs,
    options: argsFrom.length ? build.options : options,
  };
}

export function specLabel(build: Build): string {
  if (build.kind === 'unikernel') return `${build.dockerfile} (unikernel ${build.target})`;
  const target = build.options.target ? ` --target ${build.options.target}` : '';
  return `${build.dockerfile}${target}`;
}

export function specKey(build: Build): string {
  return createHash('sha256')
    .update(JSON.stringify(buildIdentity(build)))
    .digest('hex')
    .slice(0, 12);
}

export const repoKey = (owner: string, name: string): string => `${owner}/${name}`.toLowerCase();

/**
 * Indexes a flavour's repositories by `owner/name` (case-insensitive, as GitHub is),
 * merging builds that are identical so each is built once per commit.
 */
export function buildRepoIndex(flavour: Flavour): RepoIndex {
  const index = new Map<string, RepoEntry>();
  for (const repo of flavour.repos) {
    const key = repoKey(repo.owner, repo.name);
    const entry = index.get(key) ?? { repo, fullName: `${repo.owner}/${repo.name}`, specs: [] };
    for (const build of repo.builds) {
      const k = specKey(build);
      const same = entry.specs.find((s) => s.key === k);
      if (same) mergeDeployments(same.build, build);
      else entry.specs.push({ key: k, label: specLabel(build), build: structuredClone(build) });
    }
    index.set(key, entry);
  }
  return index;
}

function mergeDeployments(into: Build, from: Build): void {
  if (into.kind === 'docker' && from.kind === 'docker') into.deployments.push(...from.deployments);
  else if (into.kind === 'unikernel' && from.kind === 'unikernel')
    into.deployments.push(...from.deployments);
}

/** The pools a build spec runs on (a unikernel builds on x86_64). */
export const specPools = (spec: BuildSpec): Arch[] =>
  spec.build.kind === 'docker' ? spec.build.archs : ['linux-x86_64'];

/** Every pool some build of the flavour runs on: where its build jobs are queued. */
export function flavourPools(index: RepoIndex): Arch[] {
  return [...new Set([...index.values()].flatMap((e) => e.specs.flatMap(specPools)))];
}
