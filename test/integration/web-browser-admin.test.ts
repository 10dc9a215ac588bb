import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { startGatedService, type GatedService } from '../helpers/gated-service.js';
import { jobSettled, waitFor, type Harness } from '../helpers/harness.js';
import { serviceImage } from '../helpers/swarm.js';

describe('admin controls in a real headless Chromium', () => {
  let s: GatedService;
  let h: Harness;
  let browser: Browser;
  let admin: Page;
  let visitor: Page;

  beforeAll(async () => {
    s = await startGatedService('shop');
    h = s.h;
    browser = await launchChromium();
    // Two people, each with their own cookies.
    admin = await (await browser.newContext()).newPage();
    visitor = await (await browser.newContext()).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  async function signIn(page: Page, login: string): Promise<void> {
    h.github.oauthLogin = login;
    // Pages need a signed-in user (DEPLOYER_UI_ACCESS=signed-in, the default with sign-in):
    // the visit goes through GitHub's sign-in and comes back to the page.
    await page.goto(`${h.url}/services`);
    await page.waitForURL(`${h.url}/services`);
    expect(await page.locator('header .account').first().textContent()).toContain(login);
  }

  const waiting = (sha: string) =>
    waitFor(
      `${sha.slice(0, 7)} to wait for confirmation`,
      async () => (await h.deployer.runtime.gates.pendingFor(s.fullName, sha))[0],
      120_000,
    );

  it(
    'shows a visitor no buttons and refuses the POSTs they forge',
    { timeout: 200_000 },
    async () => {
      await signIn(visitor, 'mallory');
      const sha = await s.push('v1');
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
      expect(await h.deployer.runtime.gates.pendingFor(s.fullName, sha)).toHaveLength(1);
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
      const v1 = await s.deployed(pendingV1.sha!);
      expect(serviceImage(s.service)).toBe(v1);

      const v2sha = await s.push('v2');
      const gate = await waiting(v2sha);
      await admin.goto(`${h.url}/jobs/${gate.jobId}`);
      await admin.getByRole('button', { name: 'Confirm deploy' }).click();
      const v2 = await s.deployed(v2sha);
      expect(v2).not.toBe(v1);

      // Roll back to v1 from the service's history.
      await admin.goto(`${h.url}/services`);
      const v1Row = admin.locator('tr', { hasText: pendingV1.sha!.slice(0, 7) }).first();
      await v1Row.getByRole('button', { name: 'Roll back to this' }).click();
      expect(await admin.locator('.flash').first().textContent()).toContain('stays pinned');
      await admin.goto(`${h.url}/`);
      await admin.getByRole('button', { name: 'Confirm deploy' }).click();
      expect(await s.deployed(pendingV1.sha!, 'rollback')).toBe(v1);
      expect(serviceImage(s.service)).toBe(v1);
      await admin.goto(`${h.url}/services`);
      expect(await admin.locator('.state-pinned').count()).toBe(1);
      expect(await admin.locator('p.pin').first().textContent()).toContain('Pinned to');

      // The next push is built, but the pinned service keeps running v1.
      const v3sha = await s.push('v3');
      const v3Deploy = s.deployJob(v3sha);
      await waitFor(
        'the deploy of v3',
        () => h.deployer.runtime.queues.deploy.getJob(v3Deploy),
        120_000,
      );
      await jobSettled(h.deployer.runtime.queues.deploy, v3Deploy);
      expect((await h.deployer.runtime.queues.deploy.getJob(v3Deploy))?.returnvalue).toBe(
        'pinned, not deployed',
      );
      expect(serviceImage(s.service)).toBe(v1);
      await admin.goto(`${h.url}/services`);
      expect(await admin.locator('p.pin').first().textContent()).toContain(
        `${v3sha.slice(0, 7)} was kept out`,
      );
    },
  );
});
