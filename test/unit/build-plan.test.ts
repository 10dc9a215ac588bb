import { describe, expect, it } from 'vitest';
import { docker, repo, unikernel } from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex, type RepoEntry } from '../../src/config/repo-index.js';
import { buildJobId, buildQueueName, planBuilds } from '../../src/plan/build-jobs.js';
import { supersededBy } from '../../src/plan/intake.js';
import type { CommitEvent } from '../../src/plan/commit-event.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const OLD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const OTHER = 'd6fde92930d4715a2b49857d24b940956b26d2d3';

const flavour = parseFlavour(
  {
    name: 'demo',
    baseUrl: 'http://x',
    repos: [
      repo('Acme', 'Web', [
        docker('Dockerfile', { archs: ['linux-x86_64', 'linux-arm64'] }),
        unikernel('mirage/Dockerfile', { target: 'hvt' }),
      ]),
    ],
  },
  'test',
);
const entry = buildRepoIndex(flavour).get('acme/web') as RepoEntry;
const [dockerKey, unikernelKey] = entry.specs.map((s) => s.key);

const commit = (over: Partial<CommitEvent> = {}): CommitEvent => ({
  owner: 'Acme',
  name: 'Web',
  cloneUrl: 'https://github.com/Acme/Web.git',
  sha: SHA,
  ref: 'refs/heads/main',
  fork: false,
  installationId: 42,
  ...over,
});

describe('planBuilds', () => {
  it('plans one job per spec and pool, unikernels on linux-x86_64', () => {
    const data = {
      repo: 'Acme/Web',
      cloneUrl: 'https://github.com/Acme/Web.git',
      sha: SHA,
      ref: 'refs/heads/main',
      fork: false,
      installationId: 42,
    };
    expect(planBuilds(entry, commit())).toEqual([
      {
        queue: 'build-linux-x86_64',
        jobId: `build-${dockerKey}-${SHA}-linux-x86_64`,
        data: { ...data, specKey: dockerKey, pool: 'linux-x86_64' },
      },
      {
        queue: 'build-linux-arm64',
        jobId: `build-${dockerKey}-${SHA}-linux-arm64`,
        data: { ...data, specKey: dockerKey, pool: 'linux-arm64' },
      },
      {
        queue: 'build-linux-x86_64',
        jobId: `build-${unikernelKey}-${SHA}-linux-x86_64`,
        data: { ...data, specKey: unikernelKey, pool: 'linux-x86_64' },
      },
    ]);
  });

  it('gives job ids without ":" that BullMQ accepts', () => {
    for (const planned of planBuilds(entry, commit())) {
      expect(planned.jobId).not.toContain(':');
      expect(planned.jobId).toMatch(/^build-[0-9a-f]{12}-[0-9a-f]{40}-linux-[a-z0-9_]+$/);
    }
  });

  it('gives the same ids for the same commit whatever the ref or fork', () => {
    const ids = (c: CommitEvent) => planBuilds(entry, c).map((p) => p.jobId);
    expect(ids(commit({ ref: 'refs/pull/7/head', fork: true, installationId: 1 }))).toEqual(
      ids(commit()),
    );
    expect(ids(commit({ sha: OTHER }))).not.toEqual(ids(commit()));
  });

  it('carries the fork flag and ref into the job data', () => {
    const planned = planBuilds(entry, commit({ ref: 'refs/pull/7/head', fork: true }));
    expect(planned.map((p) => [p.data.ref, p.data.fork])).toEqual([
      ['refs/pull/7/head', true],
      ['refs/pull/7/head', true],
      ['refs/pull/7/head', true],
    ]);
  });

  it('names queues and ids from their parts', () => {
    expect(buildQueueName('linux-s390x')).toBe('build-linux-s390x');
    expect(buildJobId('abcdef012345', SHA, 'linux-riscv64')).toBe(
      `build-abcdef012345-${SHA}-linux-riscv64`,
    );
  });
});

describe('supersededBy', () => {
  it('supersedes the old head of the same ref', () => {
    expect(supersededBy({ 'refs/heads/main': OLD }, 'refs/heads/main', SHA)).toBe(OLD);
  });

  it('does not supersede a commit that is still the head of another ref', () => {
    const heads = { 'refs/heads/feature': OLD, 'refs/pull/3/head': OLD };
    expect(supersededBy(heads, 'refs/heads/feature', SHA)).toBeUndefined();
    expect(supersededBy(heads, 'refs/pull/3/head', SHA)).toBeUndefined();
  });

  it('supersedes when the other refs point elsewhere', () => {
    const heads = { 'refs/heads/feature': OLD, 'refs/heads/main': OTHER };
    expect(supersededBy(heads, 'refs/heads/feature', SHA)).toBe(OLD);
  });

  it('does not supersede the same commit', () => {
    expect(supersededBy({ 'refs/heads/main': SHA }, 'refs/heads/main', SHA)).toBeUndefined();
  });

  it('does not supersede anything on a new ref', () => {
    expect(supersededBy({ 'refs/heads/main': OLD }, 'refs/heads/new', SHA)).toBeUndefined();
    expect(supersededBy({}, 'refs/heads/main', SHA)).toBeUndefined();
  });
});
