import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/plan/check-run-output.js';
import { launchChromium } from '../helpers/chromium.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { jobSettled, startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { busybox } from '../helpers/swarm.js';

const dockerfile = (run: string) =>
  'FROM scratch\nCOPY busybox /bin/busybox\n' +
  `RUN ["/bin/busybox", "sh", "-c", ${JSON.stringify(run)}]\n`;

describe('web UI in a real headless Chromium', () => {
  const id = uniqueName('browser').toLowerCase();
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let browser: Browser;
  const where = { owner: 'acme', name: 'app', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'app');
    where.cloneUrl = git.cloneUrl('acme', 'app');
    repo.write({ busybox }, 0o755);
    h = await startHarness(testFlavour({ repos: [testRepo('acme/app')] }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await git?.stop();
  });

  /** Pushes a commit whose build runs `run` (with the test's id, so no earlier run's cache serves it). */
  async function push(branch: string, run: string): Promise<string> {
    repo.write({ Dockerfile: dockerfile(`echo ${id}; ${run}`) });
    const sha = repo.commit(branch);
    repo.push(branch);
    expect((await h.send('push', pushPayload(where, branch, sha))).status).toBe(200);
    return sha;
  }

  const record = (sha: string, status: BuildRecord['status'][]) => async () =>
    (await h.deployer.runtime.store.records('acme/app', sha)).find((r) =>
      status.includes(r.status),
    );

  it('the overview lists the watched repository and its latest job after a real build', async () => {
    const sha = await push('main', 'echo built in a browser test');
    const done = await waitFor('the build', record(sha, ['success', 'failure']));
    expect(done.status).toBe('success');
    await jobSettled(h.deployer.runtime.queues.build('linux-x86_64'), done.jobId);

    const page = await browser.newPage();
    await page.goto(`${h.url}/`);
    expect(await page.title()).toContain('Overview');
    await expect(page.locator('h2', { hasText: 'acme/app' }).count()).resolves.toBe(1);
    const link = page.locator(`a[href="/jobs/${done.jobId}"]`, { hasText: 'success' });
    await expect(link.count()).resolves.toBe(1);
    await link.click();
    await page.waitForURL(`${h.url}/jobs/${done.jobId}`);
    await expect(page.locator('#state').textContent()).resolves.toBe('completed');
    await expect(
      page.locator('#log li', { hasText: 'built in a browser test' }).count(),
    ).resolves.toBeGreaterThan(0);
    await page.close();
  });

  it('the job page tails the log of a running build without reloading', async () => {
    const sha = await push('slow', 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 1; done');
    const running = await waitFor('the build to run', record(sha, ['running']));

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${h.url}/jobs/${running.jobId}`);
    await expect(page.locator('#live').textContent()).resolves.toBe('(live)');
    // Marks this document: a reload would lose the mark.
    await page.evaluate(() => ((globalThis as unknown as { mark: number }).mark = 42));

    const lines = () => page.locator('#log li').count();
    const counts = [await lines()];
    for (let i = 0; i < 3; i++) {
      await page.waitForTimeout(1_200);
      counts.push(await lines());
    }
    // The tail grows while the build runs (a line a second), and never shrinks.
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBeGreaterThanOrEqual(3);

    await expect
      .poll(() => page.locator('#state').textContent(), { timeout: 30_000 })
      .toBe('completed');
    expect(await page.locator('#live').textContent()).toContain('finished');
    expect(await page.evaluate(() => (globalThis as unknown as { mark?: number }).mark)).toBe(42);
    // Every tick once: the stream went on from where the page's own log ended.
    const texts = await page.locator('#log li').allTextContents();
    for (let i = 1; i <= 6; i++)
      expect(texts.filter((t) => new RegExp(`tick ${i}$`).test(t))).toHaveLength(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
