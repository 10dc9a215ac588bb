import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/wiring/runtime.js';
import { parseFlavour } from '../../src/config/load.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { WebClient } from '../helpers/web-client.js';

const RELEASE_MS = 20_000;

describe("the confirmation level at runtime, and the original's slow start (real Redis, dockerd, git)", () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let alice: WebClient;
  let mallory: WebClient;
  let started: number;
  const where = { owner: 'acme', name: 'gated', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'gated');
    where.cloneUrl = git.cloneUrl('acme', 'gated');
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
    started = Date.now();
    h = await startHarness(
      {
        baseUrl: 'replaced by the harness',
        admins: ['github:alice'],
        repos: [{ owner: 'acme', name: 'gated', builds: [{ dockerfile: 'Dockerfile' }] }],
      },
      { confirm: 'average', confirmAutoReleaseMs: RELEASE_MS, signIn: true },
    );
    alice = new WebClient(h.url);
    mallory = new WebClient(h.url);
    await alice.signIn(h.github, 'alice');
    await mallory.signIn(h.github, 'mallory');
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  const gates = () => h.deployer.runtime.gates;
  const fullName = 'acme/gated';

  async function push(version: string): Promise<string> {
    repo.write({
      Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nLABEL version=${version}\n`,
    });
    const sha = repo.commit(version);
    repo.push('main');
    expect((await h.send('push', pushPayload(where, 'main', sha))).status).toBe(200);
    return sha;
  }

  const buildWaits = (sha: string) =>
    waitFor(`the build of ${sha.slice(0, 7)} to wait`, async () =>
      (await gates().pendingFor(fullName, sha)).find((g) => g.op === 'build'),
    );

  const built = (sha: string) =>
    waitFor(
      `the build of ${sha.slice(0, 7)} to pass`,
      async () => {
        const records = await h.deployer.runtime.store.records(fullName, sha);
        return records.length && records.every((r) => r.status === 'success') ? records : undefined;
      },
      120_000,
    );

  async function choose(client: WebClient, level: string): Promise<Response> {
    return client.post('/set/confirm', { level, _csrf: await client.csrf('/'), back: '/' });
  }

  it(
    'holds a build at the configured level until the start-up period ends, then lets it go unconfirmed',
    { timeout: 180_000 },
    async () => {
      const sha = await push('v1');
      await buildWaits(sha);
      const page = await (await alice.get('/')).text();
      expect(page).toContain(
        'Now operations at or above average wait for an admin (build, push, deploy), as configured, until its start-up period ends at',
      );
      expect(page).toContain('action="/set/confirm"');
      expect(page).toContain(
        '<option value="configured" selected>As configured (average)</option>',
      );
      expect(await (await mallory.get('/')).text()).not.toContain('action="/set/confirm"');

      await built(sha);
      // Released by the clock, not by anyone: nothing was confirmed, nothing waits.
      expect(Date.now()).toBeGreaterThanOrEqual(started + RELEASE_MS);
      expect(await gates().pendingFor(fullName, sha)).toEqual([]);
      expect(await gates().level.state()).toMatchObject({ level: undefined, source: 'released' });
      expect(await (await alice.get('/')).text()).toContain(
        'Now nothing waits for confirmation: the configured level was released',
      );
    },
  );

  it(
    'lets an admin change the level from the web UI, for every process of the flavour, and back',
    { timeout: 180_000 },
    async () => {
      // Only an admin, with her session's token.
      expect((await choose(mallory, 'harmless')).status).toBe(403);
      expect((await new WebClient(h.url).post('/set/confirm', { level: 'harmless' })).status).toBe(
        403,
      );
      expect((await alice.post('/set/confirm', { level: 'harmless' })).status).toBe(403);
      expect((await gates().level.state()).source).toBe('released');

      const res = await choose(alice, 'harmless');
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/');
      const page = await (await alice.get('/')).text();
      expect(page).toContain(
        'confirmation level set to harmless: operations at or above harmless wait',
      );
      expect(page).toContain(
        'Now operations at or above harmless wait for an admin (build, push, deploy): set by alice',
      );
      // Another process of the flavour, started with another level, reads the same threshold.
      const other = createRuntime(
        { ...h.env, confirm: 'dangerous' },
        parseFlavour(h.flavour, 'test flavour'),
      );
      try {
        expect(await other.gates.level.state()).toMatchObject({
          level: 'harmless',
          source: 'admin',
          by: 'alice',
        });
      } finally {
        await other.close();
      }

      // Past the start-up period, the admin's level holds builds.
      const sha = await push('v2');
      await buildWaits(sha);
      expect(await choose(alice, 'none')).toHaveProperty('status', 303);
      await built(sha);
      expect(await gates().pendingFor(fullName, sha)).toEqual([]);

      const bogus = await choose(alice, 'sometimes');
      expect(bogus.status).toBe(303);
      expect(await (await alice.get('/')).text()).toContain(
        'no confirmation level &quot;sometimes&quot;',
      );
      expect(await gates().level.state()).toMatchObject({ level: undefined, source: 'admin' });

      expect((await choose(alice, 'configured')).status).toBe(303);
      expect(await gates().level.state()).toMatchObject({
        level: undefined,
        source: 'released',
        configured: 'average',
      });
    },
  );
});
