import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployJobId, serviceKey } from '../../src/plan/deploy-jobs.js';
import { launchChromium } from '../helpers/chromium.js';
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

describe('admin controls in a real headless Chromium', () => {
  const id = uniqueName('ui').toLowerCase();
  const service = `svc-${id}`;
  const key = serviceKey('testhost', service);
  const target = `${REGISTRY}/acme/${id}:live`;
  const where = { owner: 'acme', name: 'shop', cloneUrl: '' };
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let browser: Browser;
  let admin: Page;
  let visitor: Page;

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'shop');
    where.cloneUrl = git.cloneUrl('acme', 'shop');
    repo.write({ busybox }, 0o755);
    createService(service, pushInitialImage(`acme/${id}-initial`));
    h = await startHarness(
      {
        baseUrl: 'replaced by the harness',
        admins: ['github:alice'],
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          {
            owner: 'acme',
            name: 'shop',
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
    browser = await launchChromium();
    // Two people, each with their own cookies.
    admin = await (await browser.newContext()).newPage();
    visitor = await (await browser.newContext()).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await git?.stop();
    try {
      docker('service', 'rm', service);
    } catch {
      // already gone
    }
  });

  async function signIn(page: Page, login: string): Promise<void> {
    h.github.oauthLogin = login;
    await page.goto(`${h.url}/services`);
    await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
    await page.waitForURL(`${h.url}/services`);
    expect(await page.locator('header .account').first().textContent()).toContain(login);
  }

  async function push(version: string): Promise<string> {
    repo.write({
      'version.txt': `${version}\n`,
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nCMD ["/bin/busybox", "sleep", "3600"]\n',
    });
    const sha = repo.commit(version);
    repo.push('live');
    expect((await h.send('push', pushPayload(where, 'live', sha))).status).toBe(200);
    return sha;
  }

  const waiting = (sha: string) =>
    waitFor(
      `${sha.slice(0, 7)} to wait for confirmation`,
      async () => (await h.deployer.runtime.gates.pendingFor('acme/shop', sha))[0],
      120_000,
    );

  /** What the service runs once the deploy of `sha` is recorded as a success. */
  const deployed = (sha: string, trigger: 'push' | 'rollback' = 'push') =>
    waitFor(`${service} to run ${sha.slice(0, 7)}`, async () => {
      const [latest] = await h.deployer.runtime.deploys.history(key);
      const done = latest?.sha === sha && latest.result === 'success';
      return done && latest.trigger?.kind === trigger ? latest.image : undefined;
    });

  it(
    'shows a visitor no buttons and refuses the POSTs they forge',
    { timeout: 200_000 },
    async () => {
      await signIn(visitor, 'mallory');
      const sha = await push('v1');
      const gate = await waiting(sha);
      await visitor.goto(`${h.url}/jobs/${gate.jobId}`);
      expect(await visitor.locator('section.pending').first().textContent()).toContain(
        'an admin confirms it',
      );
      expect(await visitor.locator('main form').count()).toBe(0);
      // Forged from the visitor's own page: without a token, and with their own token.
      const token = (await visitor.locator('header input[name=_csrf]').getAttribute('value')) ?? '';
      const statuses = await visitor.evaluate(
        async ([path, csrf]) => {
          const post = (body: string) =>
            fetch(path, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body,
            }).then((r) => r.status);
          return [await post('op=deploy'), await post(`op=deploy&_csrf=${csrf}`)];
        },
        [`/jobs/${gate.jobId}/confirm`, token],
      );
      expect(statuses).toEqual([403, 403]);
      expect(await h.deployer.runtime.gates.pendingFor('acme/shop', sha)).toHaveLength(1);
    },
  );

  it(
    'lets an admin confirm a gated deploy, roll back, and keep the rollback pinned',
    { timeout: 400_000 },
    async () => {
      await signIn(admin, 'alice');
      const [pendingV1] = await h.deployer.runtime.gates.pending();
      await admin.goto(`${h.url}/`);
      await admin.getByRole('button', { name: 'Confirm deploy' }).click();
      expect(await admin.locator('.flash').first().textContent()).toContain('confirmed');
      const v1 = await deployed(pendingV1.sha!);
      expect(serviceImage(service)).toBe(v1);

      const v2sha = await push('v2');
      const gate = await waiting(v2sha);
      await admin.goto(`${h.url}/jobs/${gate.jobId}`);
      await admin.getByRole('button', { name: 'Confirm deploy' }).click();
      const v2 = await deployed(v2sha);
      expect(v2).not.toBe(v1);

      // Roll back to v1 from the service's history.
      await admin.goto(`${h.url}/services`);
      const v1Row = admin.locator('tr', { hasText: pendingV1.sha!.slice(0, 7) }).first();
      await v1Row.getByRole('button', { name: 'Roll back to this' }).click();
      expect(await admin.locator('.flash').first().textContent()).toContain('stays pinned');
      await admin.goto(`${h.url}/`);
      await admin.getByRole('button', { name: 'Confirm deploy' }).click();
      expect(await deployed(pendingV1.sha!, 'rollback')).toBe(v1);
      expect(serviceImage(service)).toBe(v1);
      await admin.goto(`${h.url}/services`);
      expect(await admin.locator('.state-pinned').count()).toBe(1);
      expect(await admin.locator('p.pin').first().textContent()).toContain('Pinned to');

      // The next push is built, but the pinned service keeps running v1.
      const v3sha = await push('v3');
      const spec = [...h.deployer.runtime.index.values()][0].specs[0].key;
      const v3Deploy = deployJobId(spec, v3sha, 'live');
      await waitFor(
        'the deploy of v3',
        () => h.deployer.runtime.queues.deploy.getJob(v3Deploy),
        120_000,
      );
      await jobSettled(h.deployer.runtime.queues.deploy, v3Deploy);
      expect((await h.deployer.runtime.queues.deploy.getJob(v3Deploy))?.returnvalue).toBe(
        'pinned, not deployed',
      );
      expect(serviceImage(service)).toBe(v1);
      await admin.goto(`${h.url}/services`);
      expect(await admin.locator('p.pin').first().textContent()).toContain(
        `${v3sha.slice(0, 7)} was kept out`,
      );
    },
  );
});
