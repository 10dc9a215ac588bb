import { describe, expect, it } from 'vitest';
import {
  context,
  deployment,
  docker,
  repo,
  service,
  unikernel,
} from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import {
  buildRepoIndex,
  repoKey,
  specKey,
  specLabel,
  type RepoEntry,
} from '../../src/config/repo-index.js';
import type { FlavourInput } from '../../src/config/schema.js';

function index(repos: FlavourInput['repos']) {
  return buildRepoIndex(parseFlavour({ name: 'demo', baseUrl: 'http://x', repos }, 'test'));
}

function entry(repos: FlavourInput['repos'], fullName: string): RepoEntry {
  const found = index(repos).get(repoKey(...(fullName.split('/') as [string, string])));
  if (!found) throw new Error(`${fullName} not indexed`);
  return found;
}

const live = deployment('live', 'acme/web:live', [service('web_live', context('prod'))]);
const staging = deployment('staging', 'acme/web:staging', [service('web_staging')]);

describe('buildRepoIndex', () => {
  it('finds a repository whatever the case of owner and name', () => {
    const idx = index([repo('Acme', 'Web', [docker('Dockerfile')])]);
    expect([...idx.keys()]).toEqual(['acme/web']);
    expect(idx.get(repoKey('ACME', 'wEb'))?.fullName).toBe('Acme/Web');
    expect(idx.get(repoKey('acme', 'web-2'))).toBeUndefined();
  });

  it('merges identical builds, concatenating their deployments', () => {
    const e = entry(
      [
        repo('acme', 'web', [docker('Dockerfile', { deployments: [live] })]),
        repo('ACME', 'web', [docker('Dockerfile', { deployments: [staging] })]),
      ],
      'acme/web',
    );
    expect(e.fullName).toBe('acme/web');
    expect(e.specs).toHaveLength(1);
    const build = e.specs[0].build;
    expect(build.kind === 'docker' && build.deployments.map((d) => d.branch)).toEqual([
      'live',
      'staging',
    ]);
  });

  it('keeps builds that differ in what is built apart', () => {
    const e = entry(
      [
        repo('acme', 'web', [
          docker('Dockerfile'),
          docker('Dockerfile', { archs: ['linux-x86_64', 'linux-arm64'] }),
          docker('Dockerfile', { options: { target: 'build' } }),
          docker('Dockerfile', { options: { buildArgs: ['A=1'] } }),
          docker('Dockerfile', { options: { includeGit: true } }),
          docker('Dockerfile.other'),
          unikernel('Dockerfile', { target: 'hvt' }),
          unikernel('Dockerfile', { target: 'xen' }),
        ]),
      ],
      'acme/web',
    );
    expect(e.specs).toHaveLength(8);
    expect(new Set(e.specs.map((s) => s.key)).size).toBe(8);
  });

  it('does not change the flavour it indexes when merging', () => {
    const flavour = parseFlavour(
      {
        name: 'demo',
        baseUrl: 'http://x',
        repos: [
          repo('acme', 'web', [
            docker('Dockerfile', { deployments: [live] }),
            docker('Dockerfile', { deployments: [staging] }),
          ]),
        ],
      },
      'test',
    );
    buildRepoIndex(flavour);
    const first = flavour.repos[0].builds[0];
    expect(first.kind === 'docker' && first.deployments.map((d) => d.branch)).toEqual(['live']);
  });

  it('labels specs by Dockerfile, stage and unikernel target', () => {
    const e = entry(
      [
        repo('acme', 'web', [
          docker('Dockerfile'),
          docker('docker/Dockerfile.api', { options: { target: 'runtime' } }),
          unikernel('mirage/Dockerfile', { target: 'hvt' }),
        ]),
      ],
      'acme/web',
    );
    expect(e.specs.map((s) => s.label)).toEqual([
      'Dockerfile',
      'docker/Dockerfile.api --target runtime',
      'mirage/Dockerfile (unikernel hvt)',
    ]);
    expect(specLabel(e.specs[1].build)).toBe('docker/Dockerfile.api --target runtime');
  });
});

describe('specKey', () => {
  it('is stable across releases: 12 hex digits of the build identity', () => {
    const e = entry(
      [repo('acme', 'web', [docker('Dockerfile'), unikernel('Dockerfile', { target: 'hvt' })])],
      'acme/web',
    );
    // Changing these changes every job id and record key in Redis: do it on purpose only.
    expect(e.specs.map((s) => s.key)).toEqual(['3f958735d9be', 'e9630e38d2eb']);
    expect(specKey(e.specs[0].build)).toBe('3f958735d9be');
  });

  it('does not depend on deployments, the repository or defaults being spelled out', () => {
    const plain = entry([repo('acme', 'web', [docker('Dockerfile')])], 'acme/web');
    const deployed = entry(
      [
        repo('other', 'repo', [
          docker('Dockerfile', {
            archs: ['linux-x86_64'],
            options: { buildArgs: [], includeGit: false, target: null, ulimits: [] },
            deployments: [live, staging],
          }),
        ]),
      ],
      'other/repo',
    );
    expect(deployed.specs[0].key).toBe(plain.specs[0].key);
    const uni = entry(
      [
        repo('a', 'b', [
          unikernel('Dockerfile', {
            target: 'hvt',
            deployments: [{ branch: 'master', service: 'www', host: 'vm' }],
          }),
        ]),
      ],
      'a/b',
    );
    expect(uni.specs[0].key).toBe('e9630e38d2eb');
  });
});
