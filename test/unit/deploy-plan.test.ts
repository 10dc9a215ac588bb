import { describe, expect, it } from 'vitest';
import { deployment, docker, repo, service, unikernel } from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import { buildRepoIndex, type RepoEntry } from '../../src/config/repo-index.js';
import { ARCHS, type Build } from '../../src/config/schema.js';
import { planBuilds } from '../../src/plan/build-jobs.js';
import type { CommitEvent } from '../../src/plan/commit-event.js';
import {
  deployJobId,
  deploymentsFor,
  platformOf,
  POOL_PLATFORMS,
  serviceKey,
  stagingRef,
} from '../../src/plan/deploy-jobs.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const OTHER = 'd6fde92930d4715a2b49857d24b940956b26d2d3';
const TARGET = 'registry.example.com/acme/web:live';
// The first 10 hex digits of sha256(branch), computed outside the code under test.
const MAIN_HASH = '0d6e4079e3';
const RELEASE_HASH = 'a4d451ec23';
// What Docker accepts as a tag.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const flavour = parseFlavour(
  {
    name: 'demo',
    baseUrl: 'http://x',
    repos: [
      repo('Acme', 'Web', [
        docker('Dockerfile', {
          archs: ['linux-x86_64', 'linux-arm64'],
          deployments: [
            deployment('main', TARGET, [service('web')]),
            deployment('main', 'registry.example.com/acme/web:mirror', [service('mirror')]),
            deployment('release', 'registry.example.com/acme/web:release', [service('web-rel')]),
          ],
        }),
        docker('worker/Dockerfile', {
          deployments: [deployment('release', 'registry.example.com/acme/worker:live')],
        }),
        unikernel('mirage/Dockerfile', {
          target: 'hvt',
          deployments: [{ branch: 'main', service: 'www', host: 'deploy@unikernels.example.com' }],
        }),
      ]),
    ],
  },
  'test',
);
const entry = buildRepoIndex(flavour).get('acme/web') as RepoEntry;
const [web, worker, mirage] = entry.specs;

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

/** jobId and stage flag of every planned build, in plan order. */
const staging = (c: CommitEvent) =>
  planBuilds(entry, c).map((p) => ({ jobId: p.jobId, stage: p.data.stage }));

describe('planBuilds: staging for deployment', () => {
  it('stages the builds of specs with a deployment following the pushed branch', () => {
    expect(staging(commit())).toEqual([
      { jobId: `build-${web.key}-${SHA}-linux-x86_64-stage`, stage: true },
      { jobId: `build-${web.key}-${SHA}-linux-arm64-stage`, stage: true },
      { jobId: `build-${worker.key}-${SHA}-linux-x86_64`, stage: undefined },
      // Unikernels are staged too: the deploy reads the .hvt from the staged image.
      { jobId: `build-${mirage.key}-${SHA}-linux-x86_64-stage`, stage: true },
    ]);
  });

  it('stages only the specs that follow the branch pushed to', () => {
    expect(staging(commit({ ref: 'refs/heads/release' }))).toEqual([
      { jobId: `build-${web.key}-${SHA}-linux-x86_64-stage`, stage: true },
      { jobId: `build-${web.key}-${SHA}-linux-arm64-stage`, stage: true },
      { jobId: `build-${worker.key}-${SHA}-linux-x86_64-stage`, stage: true },
      { jobId: `build-${mirage.key}-${SHA}-linux-x86_64`, stage: undefined },
    ]);
  });

  it('leaves the stage key out of the job data entirely when not staging', () => {
    for (const p of planBuilds(entry, commit({ ref: 'refs/heads/develop' })))
      expect(Object.keys(p.data)).not.toContain('stage');
  });

  it.each([
    ['a fork pushing to a branch named like a deployment branch', { fork: true }],
    ['a pull request', { ref: 'refs/pull/7/head' }],
    ['a pull request from a fork', { ref: 'refs/pull/7/head', fork: true }],
    ['another branch', { ref: 'refs/heads/develop' }],
    ['a branch whose name only starts like one', { ref: 'refs/heads/mainline' }],
    ['a branch whose name only ends like one', { ref: 'refs/heads/feature/main' }],
    ['a branch differing in case', { ref: 'refs/heads/Main' }],
    ['a tag named like a deployment branch', { ref: 'refs/tags/main' }],
  ] as const)('never stages %s', (_what, over) => {
    const planned = planBuilds(entry, commit(over));
    expect(planned).toHaveLength(4);
    for (const p of planned) {
      expect(p.data.stage).toBeUndefined();
      expect(p.jobId).not.toMatch(/-stage$/);
    }
  });

  it('gives a staging build an id of its own, so an earlier non-staging build does not hide it', () => {
    const plain = planBuilds(entry, commit({ ref: 'refs/heads/develop' })).map((p) => p.jobId);
    const staged = planBuilds(entry, commit()).map((p) => p.jobId);
    expect(staged[0]).toBe(`${plain[0]}-stage`);
    expect(staged[0]).not.toBe(plain[0]);
    // Specs that do not stage keep the same id on either branch.
    expect(staged[2]).toBe(plain[2]);
    expect(staged[3]).toBe(`${plain[3]}-stage`);
  });
});

describe('deploymentsFor', () => {
  const build = web.build;

  it('returns the docker deployments following the branch, in order, as configured', () => {
    expect(deploymentsFor(build, 'main')).toEqual([
      { branch: 'main', target: TARGET, services: [expect.objectContaining({ name: 'web' })] },
      {
        branch: 'main',
        target: 'registry.example.com/acme/web:mirror',
        services: [expect.objectContaining({ name: 'mirror' })],
      },
    ]);
    expect(deploymentsFor(build, 'release').map((d) => d.target)).toEqual([
      'registry.example.com/acme/web:release',
    ]);
  });

  it('matches the branch exactly', () => {
    expect(deploymentsFor(build, 'develop')).toEqual([]);
    expect(deploymentsFor(build, 'Main')).toEqual([]);
    expect(deploymentsFor(build, 'mai')).toEqual([]);
    expect(deploymentsFor(build, 'main/x')).toEqual([]);
    expect(deploymentsFor(build, '')).toEqual([]);
  });

  it('returns nothing for a unikernel, even on a branch it deploys from', () => {
    expect(mirage.build.kind).toBe('unikernel');
    expect((mirage.build as Extract<Build, { kind: 'unikernel' }>).deployments).toHaveLength(1);
    expect(deploymentsFor(mirage.build, 'main')).toEqual([]);
  });
});

describe('deployJobId', () => {
  it('is made of the spec key, the commit and a hash of the branch', () => {
    expect(deployJobId('0123456789ab', SHA, 'main')).toBe(
      `deploy-0123456789ab-${SHA}-${MAIN_HASH}`,
    );
    expect(deployJobId('0123456789ab', SHA, 'release')).toBe(
      `deploy-0123456789ab-${SHA}-${RELEASE_HASH}`,
    );
  });

  it('has no ":" (BullMQ refuses them) whatever the branch is called', () => {
    for (const branch of ['main', 'feature/a:b', 'x:y:z', 'release/2.0', 'a'.repeat(200)]) {
      const id = deployJobId(web.key, SHA, branch);
      expect(id).not.toContain(':');
      expect(id).toMatch(/^deploy-[0-9a-f]{12}-[0-9a-f]{40}-[0-9a-f]{10}$/);
    }
  });

  it('is stable: the same inputs give the same id', () => {
    expect(deployJobId(web.key, SHA, 'main')).toBe(deployJobId(web.key, SHA, 'main'));
  });

  it('differs by branch, commit and spec', () => {
    const id = deployJobId(web.key, SHA, 'main');
    expect(deployJobId(web.key, SHA, 'release')).not.toBe(id);
    expect(deployJobId(web.key, SHA, 'feature/main')).not.toBe(id);
    expect(deployJobId(web.key, OTHER, 'main')).not.toBe(id);
    expect(deployJobId(worker.key, SHA, 'main')).not.toBe(id);
  });
});

describe('stagingRef', () => {
  const STAGING = '127.0.0.1:5000/staging';

  it('tags the staging repository live-<target>-<pool>, the target made tag-safe', () => {
    expect(stagingRef(STAGING, TARGET, 'linux-x86_64')).toBe(
      '127.0.0.1:5000/staging:live-registry.example.com-acme-web-live-linux-x86_64',
    );
    expect(stagingRef(STAGING, 'registry.example.com:5000/acme/web:v1.2_b', 'linux-arm64')).toBe(
      '127.0.0.1:5000/staging:live-registry.example.com-5000-acme-web-v1.2_b-linux-arm64',
    );
  });

  it('differs by pool and by target', () => {
    const refs = new Set([
      stagingRef(STAGING, TARGET, 'linux-x86_64'),
      stagingRef(STAGING, TARGET, 'linux-arm64'),
      stagingRef(STAGING, 'registry.example.com/acme/web:staging', 'linux-x86_64'),
      stagingRef(STAGING, 'registry.example.com/acme/api:live', 'linux-x86_64'),
    ]);
    expect(refs.size).toBe(4);
  });

  it('collapses runs of unsafe characters and strips leading dots and dashes', () => {
    expect(stagingRef(STAGING, '../x', 'linux-x86_64')).toBe(`${STAGING}:live-x-linux-x86_64`);
    expect(stagingRef(STAGING, 'a;rm -rf /', 'linux-s390x')).toBe(
      `${STAGING}:live-a-rm--rf--linux-s390x`,
    );
    expect(stagingRef(STAGING, 'ré$(x)`y`', 'linux-ppc64')).toBe(
      `${STAGING}:live-r-x-y--linux-ppc64`,
    );
  });

  it('keeps a tag of exactly 128 characters and hashes a longer one', () => {
    // live- (5) + name + - (1) + linux-x86_64 (12): a 110-character name makes 128.
    const fits = `r/${'a'.repeat(108)}`;
    const tag = (ref: string) => ref.slice(STAGING.length + 1);
    expect(tag(stagingRef(STAGING, fits, 'linux-x86_64'))).toBe(
      `live-r-${'a'.repeat(108)}-linux-x86_64`,
    );
    expect(tag(stagingRef(STAGING, fits, 'linux-x86_64'))).toHaveLength(128);
    expect(tag(stagingRef(STAGING, `${fits}a`, 'linux-x86_64'))).toMatch(
      /^live-[0-9a-f]{10}-linux-x86_64$/,
    );
  });

  it('stays a valid tag of at most 128 characters for a very long target, and stays distinct', () => {
    const long = `registry.example.com/${'team/'.repeat(60)}web:live`;
    for (const pool of ARCHS) {
      const ref = stagingRef(STAGING, long, pool);
      const tag = ref.slice(ref.lastIndexOf(':') + 1);
      expect(ref.slice(0, ref.lastIndexOf(':'))).toBe(STAGING);
      expect(tag.length).toBeLessThanOrEqual(128);
      expect(tag).toMatch(TAG);
      expect(tag).toMatch(new RegExp(`^live-[0-9a-f]{10}-${pool}$`));
    }
    expect(stagingRef(STAGING, long, 'linux-x86_64')).toBe(
      stagingRef(STAGING, long, 'linux-x86_64'),
    );
    expect(stagingRef(STAGING, `${long}2`, 'linux-x86_64')).not.toBe(
      stagingRef(STAGING, long, 'linux-x86_64'),
    );
  });

  it('always yields a tag Docker accepts, split where the stage step splits it', () => {
    const targets = [TARGET, '../x', 'a;rm -rf /', '-x', '.x', `${'x'.repeat(500)}`, ':::'];
    for (const target of targets)
      for (const pool of ARCHS) {
        const ref = stagingRef(STAGING, target, pool);
        expect(ref.slice(0, ref.lastIndexOf(':'))).toBe(STAGING);
        expect(ref.slice(ref.lastIndexOf(':') + 1)).toMatch(TAG);
      }
  });
});

describe('platformOf / POOL_PLATFORMS', () => {
  it('names the platform of every pool', () => {
    expect(Object.keys(POOL_PLATFORMS).sort()).toEqual([...ARCHS].sort());
    expect(ARCHS.map(platformOf)).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
      'linux/ppc64le',
      'linux/s390x',
      'linux/riscv64',
    ]);
  });

  it('records the platform as a manifest list does', () => {
    expect(POOL_PLATFORMS['linux-arm64']).toEqual({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
    expect(POOL_PLATFORMS['linux-x86_64']).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(POOL_PLATFORMS['linux-ppc64']).toEqual({ os: 'linux', architecture: 'ppc64le' });
  });
});

describe('serviceKey', () => {
  it('qualifies the service name with its engine', () => {
    expect(serviceKey('default', 'web')).toBe('default/web');
    expect(serviceKey('prod-1', 'web')).toBe('prod-1/web');
    expect(serviceKey('prod-1', 'web')).not.toBe(serviceKey('prod-2', 'web'));
    expect(serviceKey('prod-1', 'web')).not.toBe(serviceKey('prod-1', 'api'));
  });
});
