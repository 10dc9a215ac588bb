import { describe, expect, it } from 'vitest';
import {
  context,
  deployment,
  docker,
  service,
  unikernel,
  upstream,
} from '../../src/config/builders.js';
import { parseFlavour } from '../../src/config/load.js';
import type { Build } from '../../src/config/schema.js';
import type { RollbackTarget } from '../../src/plan/deploy-jobs.js';
import { deployUnits, upstreamUnits, type PlannedUnit } from '../../src/plan/deploy-units.js';
import type { StagedImage } from '../../src/store/deploy-store.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const OLD = `sha256:${'9'.repeat(64)}`;
const LIVE = 'registry.example.com/acme/web:live';
const MIRROR = 'registry.example.com/acme/web:mirror';
const STAGING = 'registry.example.com/staging';

const flavour = parseFlavour(
  {
    name: 'demo',
    baseUrl: 'http://x',
    repos: [
      {
        owner: 'acme',
        name: 'web',
        builds: [
          docker('Dockerfile', {
            archs: ['linux-x86_64', 'linux-arm64'],
            deployments: [
              deployment('live', LIVE, [
                service('web_app', context('hostA'), 'web.example.org'),
                service('web_stack', context('hostB'), undefined, {
                  kind: 'stack',
                  compose: 'deploy/web.yml',
                }),
              ]),
              deployment('live', MIRROR, [service('mirror', context('hostA'))]),
              deployment('release', 'registry.example.com/acme/web:release', [service('rel')]),
            ],
          }),
          unikernel('Dockerfile', {
            target: 'hvt',
            deployments: [
              { branch: 'live', service: 'www', host: 'vmhost' },
              { branch: 'live', service: 'docs', host: 'root@10.0.0.2:22' },
            ],
          }),
        ],
      },
    ],
    upstreams: [
      upstream('docker.io/chocobozzz/peertube:production', 7, [service('tube', context('hostC'))]),
    ],
  },
  'test',
);
const [web, mirage] = flavour.repos[0].builds as [Build, Build];

const staged: StagedImage[] = [
  { pool: 'linux-x86_64', ref: `${STAGING}:live-web-linux-x86_64`, digest: D1 },
  { pool: 'linux-arm64', ref: `${STAGING}:live-web-linux-arm64`, digest: D2 },
];
const children = [
  { ref: `${STAGING}@${D1}`, pool: 'linux-x86_64' },
  { ref: `${STAGING}@${D2}`, pool: 'linux-arm64' },
];

/** The units as plain rows: key, kind, image. */
const rows = (units: PlannedUnit[]) =>
  units.map((u) => ({
    key: u.key,
    kind: u.place.kind,
    image: u.image.kind === 'ready' ? u.image.image : `list at ${u.image.target}`,
  }));

describe('deployUnits: a push', () => {
  it('gives each service of each deployment on the branch, in order, the manifest list to write', () => {
    const units = deployUnits(web, 'live', undefined, staged);
    expect(units).toEqual([
      {
        key: 'hostA/web_app',
        name: 'web_app',
        uri: 'web.example.org',
        place: {
          kind: 'swarm',
          service: { name: 'web_app', context: 'hostA', uri: 'web.example.org', kind: 'swarm' },
          published: LIVE,
        },
        image: { kind: 'manifest-list', target: LIVE, images: children },
      },
      {
        key: 'hostB/web_stack',
        name: 'web_stack',
        uri: undefined,
        place: {
          kind: 'stack',
          service: {
            name: 'web_stack',
            context: 'hostB',
            kind: 'stack',
            compose: 'deploy/web.yml',
          },
          published: LIVE,
        },
        image: { kind: 'manifest-list', target: LIVE, images: children },
      },
      {
        key: 'hostA/mirror',
        name: 'mirror',
        uri: undefined,
        place: {
          kind: 'swarm',
          service: { name: 'mirror', context: 'hostA', kind: 'swarm' },
          published: MIRROR,
        },
        image: { kind: 'manifest-list', target: MIRROR, images: children },
      },
    ]);
  });

  it('deploys nothing from a branch no deployment follows', () => {
    expect(deployUnits(web, 'main', undefined, staged)).toEqual([]);
    expect(deployUnits(mirage, 'main', undefined, staged)).toEqual([]);
  });

  it('gives unikernels the staged image by digest, keyed by host and name', () => {
    expect(deployUnits(mirage, 'live', undefined, staged.slice(0, 1))).toEqual([
      {
        key: 'unikernel:vmhost/www',
        name: 'www',
        place: { kind: 'unikernel', name: 'www', host: 'vmhost' },
        image: { kind: 'ready', image: `${STAGING}@${D1}`, digest: D1 },
      },
      {
        key: 'unikernel:root@10.0.0.2:22/docs',
        name: 'docs',
        place: { kind: 'unikernel', name: 'docs', host: 'root@10.0.0.2:22' },
        image: { kind: 'ready', image: `${STAGING}@${D1}`, digest: D1 },
      },
    ]);
  });

  it('refuses to deploy a unikernel nothing was staged for, naming it', () => {
    expect(() => deployUnits(mirage, 'live', undefined, [])).toThrow(
      'no staged image to deploy to unikernel www',
    );
  });
});

describe('deployUnits: a rollback', () => {
  const back = (service: string): RollbackTarget => ({
    service,
    image: `${LIVE}@${OLD}`,
    digest: OLD,
    by: 'alice',
  });

  it('deploys only its service, to its earlier image, writing no manifest list', () => {
    expect(rows(deployUnits(web, 'live', back('hostB/web_stack'), []))).toEqual([
      { key: 'hostB/web_stack', kind: 'stack', image: `${LIVE}@${OLD}` },
    ]);
    expect(deployUnits(web, 'live', back('hostB/web_stack'), [])[0].image).toEqual({
      kind: 'ready',
      image: `${LIVE}@${OLD}`,
      digest: OLD,
    });
  });

  it('rolls a unikernel back by its key, whatever was staged', () => {
    expect(rows(deployUnits(mirage, 'live', back('unikernel:vmhost/www'), []))).toEqual([
      { key: 'unikernel:vmhost/www', kind: 'unikernel', image: `${LIVE}@${OLD}` },
    ]);
  });

  it('plans nothing for a service the branch does not deploy (a same-named one elsewhere included)', () => {
    expect(deployUnits(web, 'live', back('hostB/web_app'), [])).toEqual([]);
    expect(deployUnits(web, 'release', back('hostA/web_app'), [])).toEqual([]);
  });
});

describe('upstreamUnits', () => {
  it('gives each service the upstream image at its new digest, credentials from its registry', () => {
    const [tube] = flavour.upstreams;
    expect(upstreamUnits(tube, D1)).toEqual([
      {
        key: 'hostC/tube',
        name: 'tube',
        uri: undefined,
        place: {
          kind: 'swarm',
          service: { name: 'tube', context: 'hostC', kind: 'swarm' },
          published: tube.image,
        },
        image: { kind: 'ready', image: `${tube.image}@${D1}`, digest: D1 },
      },
    ]);
  });
});
