import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceKey } from '../../src/plan/deploy-jobs.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { jobSettled, startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import {
  busybox,
  createService,
  docker,
  dockerConfigWithContext,
  pushInitialImage,
  REGISTRY,
  serviceImage,
  testDeploySettings,
} from '../helpers/swarm.js';
import { WebClient } from '../helpers/web-client.js';

type CheckRunBody = { conclusion?: string; actions?: { identifier: string }[] };

describe('web UI admin actions: sign-in, CSRF, confirmation gates, rollback as a pin', () => {
  const id = uniqueName('adm').toLowerCase();
  const service = `svc-${id}`;
  const key = serviceKey('testhost', service);
  const target = `${REGISTRY}/acme/${id}:live`;
  const where = { owner: 'acme', name: 'web', cloneUrl: '' };
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let alice: WebClient;
  let mallory: WebClient;
  const images = new Map<string, string>();

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'web');
    where.cloneUrl = git.cloneUrl('acme', 'web');
    createService(service, pushInitialImage(`acme/${id}-initial`));
    h = await startHarness(
      {
        baseUrl: 'replaced by the harness',
        admins: ['github:alice'],
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          {
            owner: 'acme',
            name: 'web',
            builds: [
              {
                dockerfile: 'Dockerfile',
                deployments: [
                  { branch: 'live', target, services: [{ name: service, context: 'testhost' }] },
                ],
              },
            ],
          },
        ],
      },
      {
        confirm: 'dangerous',
        signIn: true,
        deploySettings: testDeploySettings(dockerConfigWithContext('testhost')),
      },
    );
    alice = new WebClient(h.url);
    mallory = new WebClient(h.url);
    repo.write({ busybox }, 0o755);
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    try {
      docker('service', 'rm', service);
    } catch {
      // already gone
    }
  });

  /** Pushes a new version to `live` and waits for its deploy to ask for confirmation. */
  async function pushVersion(version: string): Promise<{ sha: string; deployJob: string }> {
    repo.write({
      'version.txt': `${version}\n`,
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ["/bin/busybox", "sleep", "3600"]\n',
    });
    const sha = repo.commit(version);
    repo.push('live');
    expect((await h.send('push', pushPayload(where, 'live', sha))).status).toBe(200);
    const gate = await waitFor(
      `the deploy of ${version} to wait for confirmation`,
      async () => (await h.deployer.runtime.gates.pendingFor('acme/web', sha))[0],
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
    const image = await waitFor(
      `${service} to run ${version}`,
      async () => {
        const entry = (await h.deployer.runtime.deploys.history(key)).find(
          (e) => e.sha === sha && e.result === 'success',
        );
        return entry && serviceImage(service) === entry.image ? entry.image : undefined;
      },
      90_000,
    );
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
      expect(await h.deployer.runtime.gates.pendingFor('acme/web', sha)).toHaveLength(1);

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
      const rolledBack = await waitFor(`${service} to run v1 again`, async () => {
        const [latest] = await h.deployer.runtime.deploys.history(key);
        return latest?.trigger?.kind === 'rollback' && latest.result === 'success'
          ? latest
          : undefined;
      });
      expect(rolledBack.image).toBe(images.get('v1'));
      expect(serviceImage(service)).toBe(images.get('v1'));
      const page = await (await alice.get('/services')).text();
      expect(page).toContain('state-pinned');
      expect(page).toContain('rollback by alice');

      // A push is built and staged, but its deploy leaves the pinned service alone.
      repo.write({ 'version.txt': 'v3\n' });
      const v3 = repo.commit('v3');
      repo.push('live');
      await h.send('push', pushPayload(where, 'live', v3));
      const spec = [...h.deployer.runtime.index.values()][0].specs[0].key;
      const { deployJobId } = await import('../../src/plan/deploy-jobs.js');
      const v3Deploy = deployJobId(spec, v3, 'live');
      await waitFor(
        'the deploy of v3',
        () => h.deployer.runtime.queues.deploy.getJob(v3Deploy),
        120_000,
      );
      await jobSettled(h.deployer.runtime.queues.deploy, v3Deploy);
      const job = await h.deployer.runtime.queues.deploy.getJob(v3Deploy);
      expect(job?.returnvalue).toBe('pinned, not deployed');
      expect(serviceImage(service)).toBe(images.get('v1'));
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
        async () => (await h.deployer.runtime.gates.pendingFor('acme/web', v3))[0],
      );
      expect((await confirmAs(alice, again.jobId)).status).toBe(303);
      await deployedAs('v3', v3);
    },
  );
});
