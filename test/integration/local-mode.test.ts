import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import type { Operation } from '../../src/store/gates.js';
import { startLocal, type RunningLocal } from '../../src/entry/local.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { redisUrl, uniqueName, waitFor } from '../helpers/harness.js';
import {
  busybox,
  createService,
  docker,
  pushInitialImage,
  REGISTRY,
  serviceImage,
  testDeploySettings,
} from '../helpers/swarm.js';

describe('deployer local: no App, heads by git ls-remote, every step confirmed', () => {
  const id = uniqueName('local').toLowerCase();
  const service = `svc-${id}`;
  const target = `${REGISTRY}/acme/${id}:live`;
  let git: GitServer;
  let repo: GitRepo;
  let local: RunningLocal;
  let initial = '';

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'site');
    createService(service, pushInitialImage(`acme/${id}-initial`));
    initial = serviceImage(service); // Swarm pins the digest
    local = await startLocal({
      env: {
        ...readEnv({ REDIS_URL: redisUrl() }),
        prefix: uniqueName('t'),
        workDir: mkdtempSync(join(tmpdir(), 'deployer-local-')),
      },
      flavour: parseFlavour(
        {
          name: 'local-test',
          ...testFlavour({
            stagingRepo: `${REGISTRY}/staging-${id}`,
            repos: [
              testRepo('acme/site', {
                cloneUrl: git.cloneUrl('acme', 'site'),
                deployments: [{ branch: 'live', target, services: [{ name: service }] }],
              }),
              // Not selected: never polled.
              testRepo('acme/other', { cloneUrl: 'http://127.0.0.1:9/none.git' }),
            ],
          }),
        },
        'local test',
      ),
      repo: 'acme/site',
      confirm: 'harmless',
      deploySettings: testDeploySettings(mkdtempSync(join(tmpdir(), 'deployer-dockercfg-'))),
      pollMs: 1_000,
      log: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await local?.close();
    await git?.stop();
    try {
      docker('service', 'rm', service);
    } catch {
      // already gone
    }
  });

  const waiting = (op: Operation) => async () =>
    (await local.gates.pending()).find((p) => p.op === op);

  it('builds, pushes and deploys the deployment branch only after each confirmation', async () => {
    repo.write({ busybox }, 0o755);
    repo.write({
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "3600"]\n',
    });
    const sha = repo.commit('site v1');
    repo.push('live');
    repo.push('main'); // not a deployment branch: never built in local mode

    const build = await waitFor('the build to wait for confirmation', waiting('build'));
    expect(build.description).toContain(`of acme/site at ${sha.slice(0, 7)}`);
    expect(await local.runtime.store.records('acme/site', sha)).toMatchObject([
      { status: 'queued' },
    ]);
    expect(await local.gates.confirm(build.jobId, 'build')).toBe(true);

    const push = await waitFor('the push to wait for confirmation', waiting('push'));
    expect(push.jobId).toBe(build.jobId);
    expect(serviceImage(service)).toBe(initial);
    await local.gates.confirm(push.jobId, 'push');

    const deploy = await waitFor(
      'the service update to wait for confirmation',
      waiting('deploy'),
      60_000,
    );
    expect(deploy.description).toContain(`update ${service} to ${sha.slice(0, 7)}`);
    expect(serviceImage(service)).toBe(initial);
    await local.gates.confirm(deploy.jobId, 'deploy');

    const done = await waitFor(
      'the deploy',
      async () => {
        const [latest] = await local.runtime.deploys.history(`default/${service}`);
        return latest?.result === 'success' ? latest : undefined;
      },
      90_000,
    );
    expect(done.sha).toBe(sha);
    expect(serviceImage(service)).toBe(done.image);

    const jobs = await local.runtime.queues.build('linux-x86_64').getJobs();
    expect(jobs.map((j) => j.data.ref)).toEqual(['refs/heads/live']);
  }, 180_000);
});
