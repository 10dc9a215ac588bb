import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshSettings } from '../../src/exec/ssh/settings.js';
import { DeployScenario, dockerConfig, knownHostsFor } from '../helpers/deploy-scenario.js';
import { GitServer } from '../helpers/git-server.js';
import { jobSettled, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { RegistryProxy } from '../helpers/registry-proxy.js';
import { runningTasks, serviceImage, SSH_PORT, testDeploySettings } from '../helpers/swarm.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

type Status = { state?: string; description?: string };

// The failing cases wait out the deploy job's backoff (10 s, then 20 s): run the cases side by side.
describe.concurrent('a slow link to the SSH host', () => {
  let git: GitServer;
  const proxies: { stop(): Promise<void> }[] = [];
  const harnesses: Harness[] = [];
  const scenarios: DeployScenario[] = [];

  beforeAll(async () => {
    git = await new GitServer().start();
  });
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    for (const p of proxies) await p.stop();
    await git?.stop();
    for (const s of scenarios) s.removeService();
  });

  /** A scenario deploying over an SSH context at `port`, with its own SSH limits. */
  async function start(port: number, ssh: Partial<SshSettings>, targetRegistry?: string) {
    const s = new DeployScenario(git, { context: 'slowhost', targetRegistry });
    scenarios.push(s);
    s.createService();
    const base = testDeploySettings(dockerConfig({ slowhost: `ssh://root@127.0.0.1:${port}` }));
    const settings = {
      ...base,
      ssh: { ...base.ssh, knownHostsPath: knownHostsFor(port), ...ssh },
    };
    const h = await startHarness(s.flavour(), { deploySettings: settings });
    harnesses.push(h);
    return { s, h };
  }

  async function tcpProxy(latencyMs: number): Promise<TcpProxy> {
    const proxy = await new TcpProxy(Number(SSH_PORT)).start();
    proxy.setLatency(latencyMs);
    proxies.push(proxy);
    return proxy;
  }

  /** When each deployment status reached GitHub. */
  function timeStatuses(h: Harness): { state: string; at: number }[] {
    const times: { state: string; at: number }[] = [];
    h.github.route('POST', /^\/repos\/[^/]+\/[^/]+\/deployments\/\d+\/statuses$/, (req) => {
      times.push({ state: (req.body as Status).state ?? '', at: Date.now() });
      return undefined; // answered as usual
    });
    return times;
  }

  const statuses = (h: Harness) =>
    h.github.requests.filter((r) => r.path.endsWith('/statuses')).map((r) => r.body as Status);

  it('with moderate latency (25 ms each way per packet) the deploy works', async () => {
    const proxy = await tcpProxy(25);
    const { s, h } = await start(proxy.port, {});
    const sha = s.commit('v1');
    await s.push(h, sha);

    await waitFor('the deployment to succeed', () =>
      statuses(h).find((st) => st.state === 'success'),
    );
    expect(statuses(h).map((st) => st.state)).toEqual(['in_progress', 'success']);
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry).toMatchObject({ sha, result: 'success' });
    expect(serviceImage(s.service)).toBe(entry.image);
    for (const t of runningTasks(s.service))
      expect(t).toEqual({ image: entry.image, state: 'Running' });
    expect(proxy.connections).toBeGreaterThan(3); // every engine call went over the slow link
  }, 90_000);

  it('with latency beyond the login timeout each attempt fails in time, three in all, saying why', async () => {
    const proxy = await tcpProxy(1_500);
    const { s, h } = await start(proxy.port, { connectTimeoutMs: 2_000 });
    const sha = s.commit('v1');
    const times = timeStatuses(h);
    await s.push(h, sha);

    const deploys = h.deployer.runtime.queues.deploy;
    const job = await waitFor(
      'the deploy job to fail for good',
      async () => (await deploys.getJobs(['failed']))[0],
      90_000,
    );
    const reason = `cannot connect to 127.0.0.1:${proxy.port}: timed out after 2000ms`;
    expect(job.attemptsMade).toBe(3);
    expect(job.failedReason).toContain(reason);
    // One Deployment per attempt, each failed with the reason; none succeeded.
    const failures = statuses(h).filter((st) => st.state === 'failure');
    expect(failures).toHaveLength(3);
    for (const f of failures) expect(f.description).toContain(reason);
    expect(statuses(h).some((st) => st.state === 'success')).toBe(false);
    expect(serviceImage(s.service)).toBe(s.initialImage);
    // Each attempt ends when its login is cut at 2 s; between them, the backoffs (10 s, 20 s).
    const starts = times.filter((t) => t.state === 'in_progress');
    const ends = times.filter((t) => t.state === 'failure');
    for (const [i, end] of ends.entries()) expect(end.at - starts[i].at).toBeLessThan(5_000);
    expect(ends[2].at - ends[0].at).toBeGreaterThanOrEqual(30_000);
    expect(ends[2].at - ends[0].at).toBeLessThan(45_000);
  }, 90_000);

  it('a remote call that stalls after login is cut off at the call limit, and the retry deploys', async () => {
    // The engine's pull waits on a registry that does not answer: a call that never ends.
    const registry = await new RegistryProxy().start();
    proxies.push(registry);
    const { s, h } = await start(Number(SSH_PORT), { commandTimeoutMs: 4_000 }, registry.host);
    const hold = registry.hold(
      (method, path) => method !== 'PUT' && path.startsWith(`/v2/acme/${s.id}/manifests/sha256:`),
    );
    const sha = s.commit('v1');
    await s.push(h, sha);

    await hold.arrived;
    const stalledAt = Date.now();
    const failure = await waitFor('the stalled attempt to fail', () =>
      statuses(h).find((st) => st.state === 'failure'),
    );
    const cutAfter = Date.now() - stalledAt;
    hold.release();
    expect(failure.description).toMatch(
      new RegExp(`POST /images/create\` on 127\\.0\\.0\\.1:${SSH_PORT} timed out after 4000ms`),
    );
    expect(cutAfter).toBeLessThan(8_000);

    await waitFor('the retry to deploy', () => statuses(h).find((st) => st.state === 'success'));
    const deploys = h.deployer.runtime.queues.deploy;
    const [{ id }] = await deploys.getJobs(['completed', 'active']);
    await jobSettled(deploys, id!);
    const job = (await deploys.getJob(id!))!;
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsMade).toBe(2); // the one cut off, and the one that deployed
    expect(statuses(h).map((st) => st.state)).toEqual([
      'in_progress',
      'failure',
      'in_progress',
      'success',
    ]);
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry).toMatchObject({ sha, result: 'success' });
    expect(serviceImage(s.service)).toBe(entry.image);
  }, 90_000);
});
