import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployScenario, deployEnv, dockerConfig } from '../helpers/deploy-scenario.js';
import { GitServer } from '../helpers/git-server.js';
import { freePort, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { sample, timedGet } from '../helpers/prometheus-text.js';
import { SSH_PORT } from '../helpers/swarm.js';
import { spawnWorker, untilLogged } from '../helpers/worker-process.js';

const { version } = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'),
) as { version: string };

describe('a worker process serving DEPLOYER_METRICS_PORT', () => {
  let git: GitServer;
  let s: DeployScenario;
  let h: Harness;
  let worker: ChildProcess;
  let statusUrl: string;

  beforeAll(async () => {
    git = await new GitServer().start();
    s = new DeployScenario(git);
    s.createService();
    // The receiver in this process; the worker, which deploys, on its own.
    h = await startHarness(s.flavour(), { worker: false });
    const port = await freePort();
    statusUrl = `http://127.0.0.1:${port}`;
    worker = spawnWorker(h, {
      ...deployEnv(dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` })),
      DEPLOYER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    await untilLogged(worker, 'worker started');
  }, 90_000);
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await h?.close();
    await git?.stop();
    s?.removeService();
  });

  it('answers /healthz and /readyz, and serves no web UI', async () => {
    expect(await timedGet(`${statusUrl}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await timedGet(`${statusUrl}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
    for (const page of ['/', '/jobs', '/api/github/webhooks'])
      expect((await timedGet(`${statusUrl}${page}`)).status).toBe(404);
  });

  it("serves Node's metrics, the build's version, Redis up and the queues' depths", async () => {
    const { status, body } = await timedGet(`${statusUrl}/metrics`);
    expect(status).toBe(200);
    expect(sample(body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(body, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // The worker runs on this Node (spawnWorker starts process.execPath).
    expect(sample(body, 'deployer_build_info', { version, node: process.version })).toBe(1);
    expect(sample(body, 'deployer_redis_up')).toBe(1);
    expect(sample(body, 'deployer_queue_jobs', { queue: 'deploy', state: 'waiting' })).toBe(0);
    expect(sample(body, 'deployer_intake_entries')).toBe(0);
  });

  it('times the last successful deploy of the service, and counts it', async () => {
    const metric = 'deployer_deploy_last_success_timestamp_seconds';
    const service = { service: s.service };
    const before = (await timedGet(`${statusUrl}/metrics`)).body;
    expect(sample(before, metric, service)).toBeUndefined();

    const pushedAt = Date.now() / 1000;
    await s.push(h, s.commit('v1'));
    const after = await waitFor(
      'the deploy to be timed',
      async () => {
        const { body } = await timedGet(`${statusUrl}/metrics`);
        const jobCounted = sample(body, 'deployer_jobs_total', {
          queue: 'deploy',
          state: 'completed',
        });
        return sample(body, metric, service) === undefined || !jobCounted ? undefined : body;
      },
      110_000,
    );
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry.result).toBe('success');
    expect(sample(after, metric, service)).toBeGreaterThanOrEqual(Math.floor(pushedAt));
    expect(sample(after, metric, service)).toBeLessThanOrEqual(entry.finishedAt! / 1000 + 1);
    expect(sample(after, 'deployer_deployments_total', { ...service, result: 'success' })).toBe(1);
    expect(sample(after, 'deployer_jobs_total', { queue: 'deploy', state: 'completed' })).toBe(1);
  }, 120_000);
});
