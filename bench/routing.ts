import { performance } from 'node:perf_hooks';
import { parseFlavour } from '../src/config/load.js';
import { buildRepoIndex, repoKey } from '../src/config/repo-index.js';
import type { FlavourInput } from '../src/config/schema.js';
import { planBuilds } from '../src/plan/build-jobs.js';
import { parsePush } from '../src/plan/commit-event.js';

/** A flavour of `repos` repositories with three build specs each. */
export function bigFlavour(repos: number): FlavourInput {
  return {
    name: 'bench',
    baseUrl: 'http://localhost:3000',
    repos: Array.from({ length: repos }, (_, i) => ({
      owner: `org${i % 50}`,
      name: `repo${i}`,
      builds: [
        { dockerfile: 'Dockerfile', archs: ['linux-x86_64', 'linux-arm64'] },
        { dockerfile: 'Dockerfile.web', options: { buildArgs: ['A=1'] } },
        {
          dockerfile: 'Dockerfile.worker',
          deployments: [
            {
              branch: 'live',
              target: `registry.example.org/org/repo${i}:live`,
              services: [{ name: `svc${i}` }],
            },
          ],
        },
      ],
    })),
  };
}

export interface RoutingFigures {
  repos: number;
  loadMs: number;
  heapMiB: number;
  perEventUs: number;
  events: number;
}

/** Start-up (validate + index) and the per-event cost of routing: parse, look up, plan. */
export function benchRouting(repos = 5_000, events = 200_000): RoutingFigures {
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const flavour = parseFlavour(bigFlavour(repos), 'bench');
  const index = buildRepoIndex(flavour);
  const loadMs = performance.now() - t0;
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

  const payloads = Array.from({ length: 1_000 }, (_, i) => {
    const n = (i * 7919) % repos;
    return {
      ref: 'refs/heads/main',
      after: (i.toString(16) + 'a'.repeat(40)).slice(0, 40),
      repository: {
        name: `repo${n}`,
        owner: { login: `org${n % 50}` },
        clone_url: `https://git.example.org/org/repo${n}.git`,
      },
      installation: { id: 1 },
    };
  });
  let planned = 0;
  const t1 = performance.now();
  for (let i = 0; i < events; i++) {
    const parsed = parsePush(payloads[i % payloads.length]);
    if (!('commit' in parsed)) throw new Error(parsed.ignore);
    const entry = index.get(repoKey(parsed.commit.owner, parsed.commit.name));
    if (!entry) throw new Error('not routed');
    planned += planBuilds(entry, parsed.commit).length;
  }
  const perEventUs = ((performance.now() - t1) * 1000) / events;
  if (planned !== events * 4) throw new Error(`planned ${planned} jobs, expected ${events * 4}`);
  return { repos, loadMs, heapMiB, perEventUs, events };
}
