import { describe, expect, it } from 'vitest';
import { parseFlavour } from '../../src/config/load.js';
import type { FlavourInput } from '../../src/config/schema.js';
import { contextDrift, flavourContexts } from '../../src/doctor/context-drift.js';
import { duplicateServices } from '../../src/doctor/duplicate-services.js';
import { builtInFlavours } from '../../src/deployers/index.js';

const flavour = (name: string, services: { name: string; context?: string }[], more = {}) =>
  parseFlavour(
    {
      name,
      baseUrl: 'http://x',
      repos: [
        {
          owner: 'acme',
          name: name,
          builds: [
            {
              dockerfile: 'Dockerfile',
              deployments: [{ branch: 'live', target: `acme/${name}:live`, services }],
            },
          ],
        },
      ],
      ...more,
    } as FlavourInput,
    'test',
  );

describe('duplicateServices', () => {
  it('warns about a service (context and name) another flavour deploys too, naming it', () => {
    const running = flavour('a', [
      { name: 'web', context: 'prod' },
      { name: 'api', context: 'prod' },
    ]);
    const other = flavour('b', [{ name: 'web', context: 'prod' }]);
    const third = flavour('c', [{ name: 'web', context: 'prod' }]);
    expect(duplicateServices(running, [running, other, third])).toEqual([
      {
        kind: 'duplicate-service',
        subject: 'prod/web',
        message:
          'web (swarm on prod) is also deployed by flavour "b", "c": each would overwrite the other\'s deploys',
      },
    ]);
  });

  it('tells services on different contexts apart, and ignores the running flavour itself', () => {
    const running = flavour('a', [{ name: 'web', context: 'prod' }]);
    expect(
      duplicateServices(running, [flavour('b', [{ name: 'web', context: 'staging' }])]),
    ).toEqual([]);
    expect(
      duplicateServices(running, [running, flavour('a', [{ name: 'web', context: 'prod' }])]),
    ).toEqual([]);
  });

  it('counts services of upstream images and unikernels too', () => {
    const upstream = flavour('a', [], {
      upstreams: [{ image: 'acme/proxy:latest', services: [{ name: 'proxy', context: 'edge' }] }],
    });
    const other = flavour('b', [{ name: 'proxy', context: 'edge' }]);
    expect(duplicateServices(upstream, [other]).map((w) => w.subject)).toEqual(['edge/proxy']);

    const mirage = (name: string) =>
      parseFlavour(
        {
          name,
          baseUrl: 'http://x',
          repos: [
            {
              owner: 'acme',
              name: 'www',
              builds: [
                {
                  kind: 'unikernel',
                  dockerfile: 'Dockerfile',
                  target: 'hvt',
                  deployments: [{ branch: 'live', service: 'www', host: 'vm' }],
                },
              ],
            },
          ],
        },
        'test',
      );
    expect(duplicateServices(mirage('a'), [mirage('b')]).map((w) => w.subject)).toEqual([
      'unikernel:vm/www',
    ]);
  });

  it('finds a built-in service claimed by a configured flavour', () => {
    const builtIns = Object.entries(builtInFlavours).map(([n, f]) => parseFlavour(f, n));
    const tarides = builtIns.find((f) => f.name === 'tarides')!;
    const claimed = tarides.repos[0].builds[0];
    expect(claimed.kind).toBe('docker');
    const service = claimed.kind === 'docker' ? claimed.deployments[0].services[0] : undefined;
    const mine = flavour('mine', [{ name: service!.name, context: service!.context }]);
    const [w] = duplicateServices(mine, builtIns);
    expect(w.subject).toBe(`${service!.context}/${service!.name}`);
    expect(w.message).toContain('flavour "tarides"');
  });
});

describe('flavourContexts / contextDrift', () => {
  it('lists each docker context once with the services deployed there, upstreams included', () => {
    const f = flavour(
      'a',
      [{ name: 'web', context: 'prod' }, { name: 'api', context: 'prod' }, { name: 'local' }],
      {
        upstreams: [{ image: 'acme/proxy:latest', services: [{ name: 'proxy', context: 'prod' }] }],
      },
    );
    expect(flavourContexts(f)).toEqual(
      new Map([
        ['prod', ['web', 'api', 'proxy']],
        ['default', ['local']],
      ]),
    );
  });

  it('warns about each context a probe found a problem with, naming its services', () => {
    expect(
      contextDrift([
        { context: 'prod', services: ['web', 'api'], problem: 'connection refused' },
        { context: 'default', services: ['local'] },
      ]),
    ).toEqual([
      {
        kind: 'context-unreachable',
        subject: 'prod',
        message:
          'docker context "prod" cannot be reached, so web, api cannot be deployed: connection refused',
      },
    ]);
  });
});
