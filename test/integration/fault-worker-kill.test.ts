import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { DeployScenario, deployEnv, dockerConfig } from '../helpers/deploy-scenario.js';
import { GitServer } from '../helpers/git-server.js';
import { jobSettled, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { RegistryProxy } from '../helpers/registry-proxy.js';
import { docker, runningTasks, serviceImage, SSH_PORT } from '../helpers/swarm.js';
import { spawnWorker } from '../helpers/worker-process.js';

type Status = { state?: string; description?: string };

/** What Swarm says about the service: its spec image, the one before it, and the spec's version. */
function swarmState(service: string): { image: string; previous: string; version: number } {
  const [image, previous, version] = docker(
    'service',
    'inspect',
    service,
    '--format',
    '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}} {{.Version.Index}}',
  ).split(' ');
  return { image, previous, version: Number(version) };
}

async function kill(worker: ChildProcess): Promise<void> {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
}

describe('a worker killed (SIGKILL) while it deploys', () => {
  let git: GitServer;
  let proxy: RegistryProxy;
  let s: DeployScenario;
  let h: Harness;
  let checks: CheckRuns;
  let env: Record<string, string>;
  const workers: ChildProcess[] = [];
  const worker = () => {
    const w = spawnWorker(h, env);
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    git = await new GitServer().start();
    // Staging pushes go through a proxy that can hold a request: a push caught midway.
    proxy = await new RegistryProxy().start();
    s = new DeployScenario(git, { stagingRegistry: proxy.host });
    s.createService();
    env = deployEnv(dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` }));
    // Receiver only, in this process; workers are separate processes we can kill.
    h = await startHarness(s.flavour(), { worker: false, jobLockMs: 3_000 });
    checks = trackCheckRuns(h.github);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await h?.close();
    await proxy?.stop();
    await git?.stop();
    s?.removeService();
  });

  const deployStatuses = () =>
    h.github.requests.filter((r) => r.path.endsWith('/statuses')).map((r) => r.body as Status);

  it('mid-push: another worker retries the build, the check run succeeds and the service is deployed', async () => {
    const hold = proxy.hold((method, path) => method === 'PUT' && path.includes('/blobs/uploads/'));
    const first = worker();
    const sha = s.commit('v1');
    await s.push(h, sha);

    await hold.arrived; // the first worker's push is under way, one layer in flight
    const builds = h.deployer.runtime.queues.build('linux-x86_64');
    const [job] = await builds.getActive();
    expect(job.data.sha).toBe(sha);
    await kill(first);
    hold.release();

    const second = worker();
    const concluded = await waitFor('the check run to conclude', () => checks.concluded(sha));
    expect(concluded.conclusion).toBe('success');
    await jobSettled(builds, job.id!);
    const built = (await builds.getJob(job.id!))!;
    expect(await built.getState()).toBe('completed');
    expect(built.stalledCounter).toBe(1); // the killed attempt, and nothing else
    const { logs } = await builds.getJobLogs(job.id!);
    expect(logs.join('\n').match(/^Pushed .* \(sha256:[0-9a-f]{64}\)$/gm)).toHaveLength(1);

    // The retried push staged the image, and it was deployed once.
    await waitFor('the deployment to succeed', () =>
      deployStatuses().find((st) => st.state === 'success'),
    );
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry).toMatchObject({ sha, result: 'success' });
    expect(serviceImage(s.service)).toBe(entry.image);
    expect(swarmState(s.service).previous).toBe(s.initialImage);
    for (const t of runningTasks(s.service))
      expect(t).toEqual({ image: entry.image, state: 'Running' });
    expect(deployStatuses().map((st) => st.state)).toEqual(['in_progress', 'success']);

    // Hand over cleanly: the next test wants its own worker.
    const exited = new Promise((r) => second.once('exit', r));
    second.kill('SIGTERM');
    await exited;
  }, 120_000);

  it('mid-service-update: the retry finds the update applied and reports success without updating again', async () => {
    const before = deployStatuses().length;
    const requestsBefore = h.github.requests.length;
    const v1 = serviceImage(s.service);
    const first = worker();
    const sha = s.commit('v2');
    await s.push(h, sha);

    // The moment Swarm has the new spec, the worker is waiting for it to converge.
    const updated = await waitFor(
      'the service update to be issued',
      () => {
        const state = swarmState(s.service);
        return state.image !== v1 ? state : undefined;
      },
      90_000,
    );
    expect(updated.image.startsWith(`${s.target}@sha256:`)).toBe(true);
    expect(updated.previous).toBe(v1);
    await kill(first);
    const deploys = h.deployer.runtime.queues.deploy;
    const [job] = (await deploys.getJobs(['active', 'wait', 'delayed'])).filter(
      (j) => j.data.sha === sha,
    );
    expect(job).toBeDefined();

    worker();
    // The killed worker's lock on the service lapses with its TTL (a minute) before the retry may update it.
    const done = await waitFor(
      'the retried deploy to finish',
      async () => {
        const j = await deploys.getJob(job.id!);
        return j?.finishedOn ? j : undefined;
      },
      110_000,
    );
    expect(await done.getState()).toBe('completed');
    expect(done.stalledCounter).toBe(1);

    // Exactly the one update: Swarm's previous spec is still v1's, the image is what was issued.
    const after = swarmState(s.service);
    expect(after.image).toBe(updated.image);
    expect(after.previous).toBe(updated.previous);
    const { logs } = await deploys.getJobLogs(job.id!);
    const log = logs.join('\n');
    expect(log.match(/^Updating /gm)).toHaveLength(1);
    expect(log).toContain(`${s.service} already runs ${updated.image.split('@')[1]}`);

    const statuses = deployStatuses().slice(before);
    expect(statuses.at(-1)).toMatchObject({
      state: 'success',
      description: `Already running ${sha.slice(0, 7)}`,
    });
    expect(statuses.some((st) => st.state === 'failure')).toBe(false);
    // The killed attempt's Deployment is closed as interrupted, not left in progress.
    const byDeployment = new Map<string, string[]>();
    for (const r of h.github.requests.slice(requestsBefore)) {
      const id = /\/deployments\/(\d+)\/statuses$/.exec(r.path)?.[1];
      if (id) byDeployment.set(id, [...(byDeployment.get(id) ?? []), (r.body as Status).state!]);
    }
    expect([...byDeployment.values()]).toEqual([
      ['in_progress', 'error'],
      ['in_progress', 'success'],
    ]);
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry).toMatchObject({ sha, result: 'unchanged', image: updated.image });
    for (const t of runningTasks(s.service))
      expect(t).toEqual({ image: updated.image, state: 'Running' });
    expect(h.github.problems).toEqual([]);
  }, 180_000);
});
