import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/plan/check-run-output.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
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
  testDeploySettings,
} from '../helpers/swarm.js';

const EVIL = '<script>alert(1)</script>';
const ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;';
const BRANCH = `x${EVIL}`; // git allows it: `git check-ref-format --branch` accepts it

const dockerfile = (run: string) =>
  'FROM scratch\nCOPY busybox /bin/busybox\n' +
  `RUN ["/bin/busybox", "sh", "-c", ${JSON.stringify(run)}]\n` +
  'CMD ["/bin/busybox", "sleep", "3600"]\n';

describe('web UI over HTTP, after real builds and a real deploy', () => {
  const id = uniqueName('pages').toLowerCase();
  const service = `svc-${id}`;
  const idle = `idle-${id}`;
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  const where = { owner: 'acme', name: 'site', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'site');
    where.cloneUrl = git.cloneUrl('acme', 'site');
    createService(service, pushInitialImage(`acme/${id}-initial`));
    h = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          testRepo('acme/site', {
            deployments: [
              {
                branch: 'live',
                target: `${REGISTRY}/acme/${id}:live`,
                services: [{ name: service }],
              },
              {
                branch: 'later',
                target: `${REGISTRY}/acme/${id}:later`,
                services: [{ name: idle }],
              },
            ],
          }),
        ],
      }),
      // The local engine (context `default`): what is shown matters here, not how it got there.
      { deploySettings: testDeploySettings(dockerConfigWithContext('testhost')) },
    );
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

  const get = async (path: string) => {
    const res = await fetch(`${h.url}${path}`);
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text: await res.text(),
    };
  };

  /** Commits `run` as the build step, pushes it to `branch` and waits for its build to end. */
  async function build(branch: string, run: string, message: string): Promise<BuildRecord> {
    repo.write({ busybox }, 0o755);
    repo.write({ Dockerfile: dockerfile(run) });
    const sha = repo.commit(message);
    repo.push(branch);
    expect((await h.send('push', pushPayload(where, branch, sha))).status).toBe(200);
    const done = await waitFor(`the build of ${branch}`, async () =>
      (await h.deployer.runtime.store.records('acme/site', sha)).find(
        (r) => r.status === 'success' || r.status === 'failure',
      ),
    );
    await jobSettled(h.deployer.runtime.queues.build('linux-x86_64'), done.jobId);
    return done;
  }

  let main: BuildRecord;
  let evil: BuildRecord;

  it('the overview lists the repository, each ref and its build linking the job page', async () => {
    main = await build('main', 'echo hello from the build', 'main');
    evil = await build(BRANCH, `echo '${EVIL}'`, 'evil');
    expect(main.status).toBe('success');

    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.text).toContain('<h2>acme/site</h2>');
    expect(page.text).toMatch(/<td>main<\/td>/);
    expect(page.text).toContain(
      `<a class="state state-success" href="/jobs/${main.jobId}">success</a>`,
    );
    expect(page.text).toContain(`href="/jobs/${evil.jobId}"`);
    // The branch name is shown as text, never as markup.
    expect(page.text).toContain(`<td>x${ESCAPED}</td>`);
    expect(page.text).not.toContain(EVIL);
    expect(page.text).toContain('<nav>');
    expect(page.text).toContain('href="/services"');
  });

  it('a job page shows the job, its timings and its log, escaped', async () => {
    const page = await get(`/jobs/${main.jobId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('acme/site');
    expect(page.text).toMatch(/<span id="state" class="state state-completed">completed<\/span>/);
    expect(page.text).toMatch(/<li>[^<]*hello from the build[^<]*<\/li>/);
    expect(page.text).toMatch(/ran \d+s/);
    expect(page.text).not.toMatch(/<script/i); // finished: nothing to tail

    const bad = await get(`/jobs/${evil.jobId}`);
    expect(bad.status).toBe(200);
    expect(bad.text).toMatch(new RegExp(`<li>[^<]*${ESCAPED.replace(/[()]/g, '\\$&')}`));
    expect(bad.text).toContain(`<dd>x${ESCAPED}</dd>`);
    expect(bad.text).not.toContain(EVIL);
    expect(bad.text).not.toMatch(/<script/i);
  });

  it('unknown jobs and pages get a 404 page; health and metrics still answer', async () => {
    for (const path of ['/jobs/build-nope', '/jobs/a%3Ab', '/nowhere']) {
      const page = await get(path);
      expect(page.status).toBe(404);
      expect(page.text).toContain('<h1>Not found</h1>');
    }
    expect((await get('/jobs/build-nope/log')).status).toBe(404);
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect((await get('/metrics')).text).toContain('deployer_');
  });

  it('/jobs/:id/log sends the log as server-sent events and ends once the job has finished', async () => {
    const all = await get(`/jobs/${main.jobId}/log?from=0`);
    expect(all.status).toBe(200);
    expect(all.type).toMatch(/^text\/event-stream/);
    expect(all.text).toMatch(/^id: 1\ndata: /);
    expect(all.text).toMatch(/data: .*hello from the build/);
    expect(all.text.endsWith('event: end\ndata: completed\n\n')).toBe(true);
    const events = all.text.split('\n\n').filter(Boolean);
    const count = events.length - 1;
    // From the end: nothing but the end.
    expect((await get(`/jobs/${main.jobId}/log?from=${count}`)).text).toBe(
      'event: end\ndata: completed\n\n',
    );
  });

  it('streams the lines of a running build as they are written', async () => {
    // The id keeps the step out of the build cache of earlier runs.
    repo.write({
      Dockerfile: dockerfile(`echo ${id}; for i in 1 2 3 4 5; do echo tick $i; sleep 1; done`),
    });
    const sha = repo.commit('slow');
    repo.push('slow');
    await h.send('push', pushPayload(where, 'slow', sha));
    const running = await waitFor('the slow build to run', async () =>
      (await h.deployer.runtime.store.records('acme/site', sha)).find(
        (r) => r.status === 'running',
      ),
    );
    const res = await fetch(`${h.url}/jobs/${running.jobId}/log?from=0`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const ticks: { line: string; at: number }[] = [];
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      for (const m of value.matchAll(/tick (\d)/g)) ticks.push({ line: m[0], at: Date.now() });
    }
    expect(text.endsWith('event: end\ndata: completed\n\n')).toBe(true);
    expect(ticks.map((t) => t.line)).toContain('tick 5');
    // Read while it ran: the first and the last tick arrived seconds apart.
    expect(ticks.at(-1)!.at - ticks[0].at).toBeGreaterThan(2_000);
  });

  it('/services shows what a real deploy put on the service, with history', async () => {
    const live = await build('live', 'echo live', 'live');
    expect(live.status).toBe('success');
    const key = `default/${service}`;
    const deployed = await waitFor(
      'the deploy',
      async () =>
        (await h.deployer.runtime.deploys.history(key)).find((e) => e.result === 'success'),
      120_000,
    );

    const page = await get('/services');
    expect(page.status).toBe(200);
    const section = page.text.slice(page.text.indexOf(`<h2>${service} `));
    expect(section).toMatch(/^<h2>[^<]+<span class="state state-deployed">deployed<\/span>/);
    expect(section).toContain(`<code class="digest">${deployed.digest}</code>`);
    expect(section).toContain(
      `from <a href="/jobs/${deployed.jobId}"><code>${deployed.sha.slice(0, 7)}</code></a>`,
    );
    expect(section).toContain('(acme/site live)');
    expect(section).toContain('<span class="state state-success">success</span>');
    expect(page.text).toMatch(
      new RegExp(`<h2>${idle} <span class="state state-never-deployed">never deployed</span>`),
    );

    // The deployment branch now leads its build's refs on the overview.
    const overview = (await get('/')).text;
    expect(overview.indexOf('<td>live <span class="tag">deploys</span></td>')).toBeGreaterThan(0);
    expect(overview.indexOf('<td>live <span class="tag">deploys</span></td>')).toBeLessThan(
      overview.indexOf('<td>main</td>'),
    );
    // The deploy job has a page too.
    const job = await get(`/jobs/${deployed.jobId}`);
    expect(job.status).toBe(200);
    expect(job.text).toContain('deployments of live');
  }, 180_000);
});
