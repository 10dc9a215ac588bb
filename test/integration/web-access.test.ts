import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebStand, type WebStand } from '../helpers/web-stand.js';
import { WebClient } from '../helpers/web-client.js';

describe('DEPLOYER_UI_ACCESS=signed-in (the default with sign-in): private repositories stay private', () => {
  let w: WebStand;
  let openJob: string;
  let secretJob: string;
  const people = new Map<string, WebClient>();

  beforeAll(async () => {
    w = await startWebStand({
      repos: ['acme/open', 'acme/secret'],
      stream: { maxMs: 1_500, pollMs: 100 },
    });
    w.github.privateRepos.set('acme/secret', new Set(['bob']));
    openJob = await w.addBuild('acme/open');
    secretJob = await w.addBuild('acme/secret');
    for (const login of ['alice', 'bob', 'carol']) {
      const client = new WebClient(w.url);
      await client.signIn(w.github, login);
      people.set(login, client);
    }
  });
  afterAll(async () => {
    await w?.close();
  });

  const as = (login: string) => people.get(login)!;
  const repoChecks = (path: string) =>
    w.github.requests.filter((r) => r.method === 'GET' && r.path === path).length;

  it('sends anonymous visitors to sign in, and refuses them logs', async () => {
    const anonymous = new WebClient(w.url);
    for (const path of ['/', '/services', `/jobs/${openJob}`]) {
      const res = await anonymous.get(path);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await anonymous.get(`/jobs/${openJob}/log?from=0`)).status).toBe(401);
    expect((await anonymous.get('/style.css')).status).toBe(200);
  });

  it('shows each user only the repositories they can read on GitHub', async () => {
    const carol = await (await as('carol').get('/')).text();
    expect(carol).toContain('<h2>acme/open</h2>');
    expect(carol).not.toContain('acme/secret');
    const bob = await (await as('bob').get('/')).text();
    expect(bob).toContain('<h2>acme/open</h2>');
    expect(bob).toContain('<h2>acme/secret</h2>');
    // Admins see everything without asking GitHub.
    const alice = await (await as('alice').get('/')).text();
    expect(alice).toContain('<h2>acme/secret</h2>');
  });

  it("answers 404 for the job pages and logs of a repository the user can't read", async () => {
    for (const path of [`/jobs/${secretJob}`, `/jobs/${secretJob}/log.txt`]) {
      expect((await as('carol').get(path)).status).toBe(404);
      expect((await as('bob').get(path)).status).toBe(200);
    }
    const stream = await as('carol').get(`/jobs/${secretJob}/log?from=0`);
    expect(stream.status).toBe(404);
    expect((await as('carol').get(`/jobs/${openJob}`)).status).toBe(200);
  });

  it("caches GitHub's answer per user and repository", async () => {
    const before = repoChecks('/repos/acme/secret');
    expect(before).toBeGreaterThan(0); // asked once for each user who is not an admin
    for (let i = 0; i < 3; i++) await as('carol').get('/');
    await as('carol').get(`/jobs/${secretJob}`);
    expect(repoChecks('/repos/acme/secret')).toBe(before);
  });

  it('ends the session of a user whose GitHub token no longer works', async () => {
    const dave = new WebClient(w.url);
    await dave.signIn(w.github, 'dave');
    expect((await dave.get(`/jobs/${openJob}`)).status).toBe(200);
    // GitHub user tokens expire (8 h) or are revoked.
    for (const [token, login] of w.github.userTokens)
      if (login === 'dave') w.github.userTokens.delete(token);
    // acme/secret was not asked about yet: GitHub is, and refuses the token.
    expect(await (await dave.get('/')).text()).not.toContain('acme/secret');
    const res = await dave.get('/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/login?next=%2F');
  });

  it('caps open log streams per client and ends each after its time', async () => {
    const carol = as('carol');
    const open = await Promise.all(
      [1, 2, 3, 4].map(() => carol.get(`/jobs/${openJob}/log?from=0`)),
    );
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const fifth = await carol.get(`/jobs/${openJob}/log?from=0`);
    expect(fifth.status).toBe(429);
    // Another sign-in of the same person does not get more.
    const carolAgain = new WebClient(w.url);
    await carolAgain.signIn(w.github, 'carol');
    expect((await carolAgain.get(`/jobs/${openJob}/log?from=0`)).status).toBe(429);
    // Someone else is not held back by carol's streams.
    const bob = await as('bob').get(`/jobs/${openJob}/log?from=0`);
    expect(bob.status).toBe(200);
    // The job never finishes here: the streams end by themselves.
    const texts = await Promise.all([...open, bob].map((r) => r.text()));
    for (const text of texts) expect(text).toMatch(/event: expired\n/);
    const again = await carol.get(`/jobs/${openJob}/log?from=0`);
    expect(again.status).toBe(200);
    await again.body?.cancel();
  });
});

describe('DEPLOYER_UI_ACCESS=admins: only the flavour admins see anything', () => {
  let w: WebStand;

  beforeAll(async () => {
    w = await startWebStand({ repos: ['acme/open'], env: { DEPLOYER_UI_ACCESS: 'admins' } });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('refuses signed-in users who are not admins', async () => {
    const job = await w.addBuild('acme/open');
    const bob = new WebClient(w.url);
    await bob.signIn(w.github, 'bob');
    for (const path of ['/', '/services', `/jobs/${job}`]) {
      const res = await bob.get(path);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain('acme/open');
    }
    expect((await bob.get(`/jobs/${job}/log?from=0`)).status).toBe(403);
    const alice = new WebClient(w.url);
    await alice.signIn(w.github, 'alice');
    expect(await (await alice.get('/')).text()).toContain('<h2>acme/open</h2>');
    expect((await alice.get(`/jobs/${job}`)).status).toBe(200);
  });
});
