import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Level } from '../../src/config/levels.js';
import { trackCheckRuns } from '../helpers/check-runs.js';
import { DeployScenario, dockerConfig } from '../helpers/deploy-scenario.js';
import { GitServer } from '../helpers/git-server.js';
import { jobSettled, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { RegistryProxy, type SeenRequest } from '../helpers/registry-proxy.js';
import { runningTasks, serviceImage, SSH_PORT, testDeploySettings } from '../helpers/swarm.js';

type Status = { state?: string; description?: string };

/** Milliseconds between consecutive requests. */
const gaps = (requests: SeenRequest[]) => requests.slice(1).map((r, i) => r.at - requests[i].at);

const manifestPut = (repository: string) => (method: string, path: string) =>
  method === 'PUT' && path.startsWith(`/v2/${repository}/manifests/`);

// Each case waits out the job backoffs (build: 5 s then 10 s; deploy: 10 s then 20 s): run them side by side.
describe.concurrent('a registry that fails', () => {
  let git: GitServer;
  let proxy: RegistryProxy;
  const harnesses: Harness[] = [];
  const scenarios: DeployScenario[] = [];

  beforeAll(async () => {
    git = await new GitServer().start();
    proxy = await new RegistryProxy().start();
  });
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await proxy?.stop();
    await git?.stop();
    for (const s of scenarios) s.removeService();
  });

  async function start(
    opts: ConstructorParameters<typeof DeployScenario>[1],
    buildTimeoutMs?: number,
    confirm?: Level,
  ) {
    const s = new DeployScenario(git, opts);
    scenarios.push(s);
    s.createService();
    const settings = testDeploySettings(
      dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` }),
    );
    const h = await startHarness(s.flavour(), {
      deploySettings: settings,
      buildTimeoutMs,
      confirm,
    });
    harnesses.push(h);
    return { s, h };
  }

  /** Pushes v1 with every manifest write to the deployment's target answered 500; waits for the deploy to fail for good. */
  async function deployWithFailingManifest(s: DeployScenario, h: Harness) {
    const failing = manifestPut(`acme/${s.id}`);
    const previous = proxy.failWhen;
    proxy.failWhen = (method, path) => failing(method, path) || previous(method, path);
    const sha = s.commit('v1');
    await s.push(h, sha);
    const deploys = h.deployer.runtime.queues.deploy;
    const job = await waitFor(
      'the deploy job to fail for good',
      async () => {
        const [j] = await deploys.getJobs(['failed']);
        return j;
      },
      90_000,
    );
    return { failing, sha, job };
  }

  it('500 to the staging push: the build is tried three times with growing pauses, then fails saying so', async () => {
    const { s, h } = await start({ stagingRegistry: proxy.host });
    const staging = `staging-${s.id}`;
    const failing = manifestPut(staging);
    const previous = proxy.failWhen;
    proxy.failWhen = (method, path) => failing(method, path) || previous(method, path);
    const checks = trackCheckRuns(h.github);
    const sha = s.commit('v1');
    await s.push(h, sha);

    const check = await waitFor('the check run to conclude', () => checks.concluded(sha), 90_000);
    expect(check.conclusion).toBe('failure');
    const ref = `${s.stagingRepo}:live-`;
    expect(check.output?.text).toContain(`cannot push ${ref}`);
    expect(check.output?.text).toContain(
      'received unexpected HTTP status: 500 Internal Server Error',
    );
    expect(check.output?.text).toContain('after 3 attempts');

    const builds = h.deployer.runtime.queues.build('linux-x86_64');
    const [record] = await h.deployer.runtime.store.records(`acme/${s.repoName}`, sha);
    await jobSettled(builds, record.jobId);
    const job = (await builds.getJob(record.jobId))!;
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    const puts = proxy.seen(failing);
    expect(puts).toHaveLength(3);
    const [first, second] = gaps(puts);
    expect(first).toBeGreaterThanOrEqual(5_000);
    expect(second).toBeGreaterThanOrEqual(10_000);
    expect(await h.deployer.runtime.queues.deploy.getJobs()).toEqual([]);
    expect(serviceImage(s.service)).toBe(s.initialImage);
  }, 90_000);

  it('500 to the manifest list: the deploy is tried three times with growing pauses, then fails on the Deployment', async () => {
    const { s, h } = await start({ targetRegistry: proxy.host });
    const { failing, sha, job } = await deployWithFailingManifest(s, h);
    expect(job.attemptsMade).toBe(3);
    const reason = `${proxy.host} answered 500 to PUT /v2/acme/${s.id}/manifests/`;
    expect(job.failedReason).toContain(reason);
    const puts = proxy.seen(failing);
    expect(puts).toHaveLength(3);
    const [first, second] = gaps(puts);
    expect(first).toBeGreaterThanOrEqual(10_000);
    expect(second).toBeGreaterThanOrEqual(20_000);

    // GitHub and the service history are told once, when it is given up.
    const statuses = h.github.requests
      .filter((r) => r.path.endsWith('/statuses'))
      .map((r) => r.body as Status);
    expect(statuses.map((st) => st.state)).toEqual(['in_progress', 'failure']);
    expect(statuses[1].description).toContain(`Deploy failed: cannot write ${s.target}: `);
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry).toMatchObject({ sha, result: 'failure' });
    expect(entry.error).toContain(reason);
    expect(entry.error).toContain('after 3 attempts');
    expect(serviceImage(s.service)).toBe(s.initialImage);
    for (const t of runningTasks(s.service)) expect(t.image).toBe(s.initialImage);
    expect(h.github.problems).toEqual([]);
  }, 90_000);

  it('under --confirm dangerous, a deploy whose manifest list cannot be written fails without asking an admin', async () => {
    const { s, h } = await start({ targetRegistry: proxy.host }, undefined, 'dangerous');
    const { job } = await deployWithFailingManifest(s, h);
    expect(job.failedReason).toContain(`cannot write ${s.target}: `);
    // Nothing was there to confirm: no admin was asked, no check run turned action_required.
    expect(await h.deployer.runtime.gates.pending()).toEqual([]);
    const asked = h.github
      .checkRunWrites()
      .filter((w) => (w.body as { conclusion?: string }).conclusion === 'action_required');
    expect(asked).toEqual([]);
    expect(serviceImage(s.service)).toBe(s.initialImage);
  }, 90_000);

  it('no answer to a push: the job’s time limit ends it, once', async () => {
    const { s, h } = await start({ stagingRegistry: proxy.host }, 15_000);
    proxy.hold(
      (method, path) => method === 'PUT' && path.startsWith(`/v2/staging-${s.id}/blobs/uploads/`),
    );
    const checks = trackCheckRuns(h.github);
    const sha = s.commit('v1');
    await s.push(h, sha);

    const check = await waitFor('the check run to conclude', () => checks.concluded(sha));
    expect(check.conclusion).toBe('failure');
    expect(check.output?.text).toContain('Build failed: timed out after 15s');
    expect(check.output?.text).toContain(`Pushing ${s.stagingRepo}:live-`);
    const [record] = await h.deployer.runtime.store.records(`acme/${s.repoName}`, sha);
    const builds = h.deployer.runtime.queues.build('linux-x86_64');
    await jobSettled(builds, record.jobId);
    const job = (await builds.getJob(record.jobId))!;
    expect(job.attemptsMade).toBe(1); // its time is up: not tried again
    expect(await h.deployer.runtime.queues.deploy.getJobs()).toEqual([]);
  }, 90_000);
});
