import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatedService, type GatedService } from '../helpers/gated-service.js';
import { jobSettled, waitFor, type Harness } from '../helpers/harness.js';
import { serviceImage } from '../helpers/swarm.js';
import { WebClient } from '../helpers/web-client.js';

type CheckRunBody = { conclusion?: string; actions?: { identifier: string }[] };

describe('web UI admin actions: sign-in, CSRF, confirmation gates, rollback as a pin', () => {
  let s: GatedService;
  let h: Harness;
  let key: string;
  let alice: WebClient;
  let mallory: WebClient;
  const images = new Map<string, string>();

  beforeAll(async () => {
    s = await startGatedService('web');
    ({ h, key } = s);
    alice = new WebClient(h.url);
    mallory = new WebClient(h.url);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Pushes a new version to `live` and waits for its deploy to ask for confirmation. */
  async function pushVersion(version: string): Promise<{ sha: string; deployJob: string }> {
    const sha = await s.push(version);
    const gate = await waitFor(
      `the deploy of ${version} to wait for confirmation`,
      async () => (await h.deployer.runtime.gates.pendingFor(s.fullName, sha))[0],
      120_000,
    );
    expect(gate.op).toBe('deploy');
    return { sha, deployJob: gate.jobId };
  }

  async function confirmAs(client: WebClient, jobId: string): Promise<Response> {
    const path = `/jobs/${jobId}`;
    return client.post(`${path}/confirm`, {
      op: 'deploy',
      _csrf: await client.csrf(path),
      back: path,
    });
  }

  async function deployedAs(version: string, sha: string): Promise<void> {
    const image = await s.deployed(sha);
    expect(serviceImage(s.service)).toBe(image);
    images.set(version, image);
  }

  it('signs people in through GitHub and shows buttons to admins only', async () => {
    expect(await alice.signIn(h.github, 'alice', '/services')).toBe('/services');
    expect(await mallory.signIn(h.github, 'mallory')).toBe('/');
    const page = await (await alice.get('/services')).text();
    expect(page).toContain('alice (admin)');
    expect(page).toContain('href="/admin/queues"');
    const other = await (await mallory.get('/services')).text();
    expect(other).toContain('mallory');
    expect(other).not.toContain('(admin)');
    expect(other).not.toContain('href="/admin/queues"');
    expect((await mallory.get('/admin/queues')).status).toBe(403);
    const board = await alice.get('/admin/queues');
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<div id="root">');
  });

  it(
    'refuses anonymous, forged and non-admin POSTs, and the gate keeps waiting',
    { timeout: 240_000 },
    async () => {
      const { sha, deployJob } = await pushVersion('v1');
      const path = `/jobs/${deployJob}`;
      // The check run asks an admin to confirm.
      const asked = await waitFor('an action_required check run', () =>
        h.github
          .checkRunWrites()
          .map((r) => r.body as CheckRunBody)
          .find((b) => b.conclusion === 'action_required'),
      );
      expect(asked.actions?.map((a) => a.identifier)).toEqual(['confirm']);

      const anonymous = new WebClient(h.url);
      expect((await anonymous.post(`${path}/confirm`, { op: 'deploy' })).status).toBe(403);
      expect(await (await mallory.get(path)).text()).not.toContain(`action="${path}/confirm"`);
      expect((await confirmAs(mallory, deployJob)).status).toBe(403);
      // Alice's session without a token, and with someone else's token.
      expect((await alice.post(`${path}/confirm`, { op: 'deploy' })).status).toBe(403);
      const stolen = await mallory.csrf(path);
      expect((await alice.post(`${path}/confirm`, { op: 'deploy', _csrf: stolen })).status).toBe(
        403,
      );
      expect(await h.deployer.runtime.gates.pendingFor(s.fullName, sha)).toHaveLength(1);

      // Now the admin, with her own token.
      const res = await confirmAs(alice, deployJob);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(path);
      expect(await (await alice.get(path)).text()).toContain(`deploy of ${deployJob} confirmed`);
      await deployedAs('v1', sha);
      const done = await waitFor('a successful check run offering Roll back', () =>
        h.github
          .checkRunWrites()
          .map((r) => r.body as CheckRunBody)
          .find(
            (b) =>
              b.conclusion === 'success' && b.actions?.some((a) => a.identifier === 'rollback'),
          ),
      );
      expect(done.actions?.map((a) => a.identifier)).toEqual(['rollback']);
    },
  );

  it(
    'rolls a service back to an earlier version and keeps it pinned through later pushes',
    { timeout: 400_000 },
    async () => {
      const v2 = await pushVersion('v2');
      expect((await confirmAs(alice, v2.deployJob)).status).toBe(303);
      await deployedAs('v2', v2.sha);
      expect(images.get('v2')).not.toBe(images.get('v1'));

      const v1Entry = (await h.deployer.runtime.deploys.history(key)).find(
        (e) => e.result === 'success' && e.image === images.get('v1'),
      )!;
      const forged = await mallory.post('/services/rollback', {
        service: key,
        job: v1Entry.jobId,
        _csrf: await mallory.csrf('/services'),
      });
      expect(forged.status).toBe(403);
      const res = await alice.post('/services/rollback', {
        service: key,
        job: v1Entry.jobId,
        _csrf: await alice.csrf('/services'),
        back: '/services',
      });
      expect(res.status).toBe(303);
      // The rollback is a service update too: at `dangerous` it waits for confirmation.
      const gate = await waitFor('the rollback to wait', async () =>
        (await h.deployer.runtime.gates.pending()).find((g) => g.jobId.startsWith('rollback-')),
      );
      expect((await confirmAs(alice, gate.jobId)).status).toBe(303);
      expect(await s.deployed(v1Entry.sha, 'rollback')).toBe(images.get('v1'));
      expect(serviceImage(s.service)).toBe(images.get('v1'));
      const page = await (await alice.get('/services')).text();
      expect(page).toContain('state-pinned');
      expect(page).toContain('rollback by alice');

      // A push is built and staged, but its deploy leaves the pinned service alone.
      const v3 = await s.push('v3');
      const v3Deploy = s.deployJob(v3);
      await waitFor(
        'the deploy of v3',
        () => h.deployer.runtime.queues.deploy.getJob(v3Deploy),
        120_000,
      );
      await jobSettled(h.deployer.runtime.queues.deploy, v3Deploy);
      const job = await h.deployer.runtime.queues.deploy.getJob(v3Deploy);
      expect(job?.returnvalue).toBe('pinned, not deployed');
      expect(serviceImage(s.service)).toBe(images.get('v1'));
      expect((await h.deployer.runtime.deploys.pin(key))?.skipped).toBe(v3);

      // Unpinned: the commit the pin kept out is deployed (after its confirmation).
      const unpin = await alice.post('/services/unpin', {
        service: key,
        _csrf: await alice.csrf('/services'),
        back: '/services',
      });
      expect(unpin.status).toBe(303);
      expect(await h.deployer.runtime.deploys.pin(key)).toBeUndefined();
      const again = await waitFor(
        'the deploy of v3 to wait',
        async () => (await h.deployer.runtime.gates.pendingFor(s.fullName, v3))[0],
      );
      expect((await confirmAs(alice, again.jobId)).status).toBe(303);
      await deployedAs('v3', v3);
    },
  );
});
