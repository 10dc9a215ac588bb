import { Worker, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import nock from 'nock';
import type { Probot } from 'probot';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../src/config/builders.js';
import type { Arch } from '../../src/config/schema.js';
import { processCheckSync } from '../../src/jobs/checks.js';
import type { CheckJobData } from '../../src/jobs/queues.js';
import type { BuildJobData } from '../../src/plan/build-jobs.js';
import type { Runtime } from '../../src/wiring/runtime.js';
import { TEST_BASE_URL, testFlavour, testRepo } from '../helpers/flavour.js';
import { githubRequestProblems } from '../helpers/github-spec.js';
import { WEBHOOK_SECRET } from '../helpers/harness.js';
import { pullRequestPayload, pushPayload, rerequestPayload } from '../helpers/payloads.js';
import { runIntake, type RunningIntake } from '../helpers/intake.js';
import { loadTestApp, type TestApp } from '../helpers/probot.js';

const POOLS: Arch[] = ['linux-x86_64', 'linux-arm64'];
const BASE_URL = TEST_BASE_URL;
const INSTALLATION = 42;
const web = {
  owner: 'acme',
  name: 'web',
  cloneUrl: 'https://github.com/acme/web.git',
  installationId: INSTALLATION,
};
const flavour = testFlavour({
  repos: [
    testRepo('acme/web', {
      builds: [
        docker('Dockerfile', { archs: ['linux-x86_64', 'linux-arm64'] }),
        docker('worker/Dockerfile'),
      ],
    }),
  ],
});

const sha = (): string => randomUUID().replace(/-/g, '').padEnd(40, '0');
const deliver = (probot: Probot, name: string, payload: object, id: string = randomUUID()) =>
  probot.receive({ id, name, payload } as Parameters<Probot['receive']>[0]);

// Every app a test made, with the intake a worker runs, closed (and its Redis keys
// deleted) at the end.
const apps: TestApp[] = [];
const intakes = new Map<Probot, RunningIntake>();
async function freshApp(): Promise<TestApp> {
  const app = await loadTestApp(flavour);
  apps.push(app);
  intakes.set(app.probot, runIntake(app.runtime));
  return app;
}

/** A delivery handled by the app, and its commit then taken in by the intake. */
async function receive(probot: Probot, name: string, payload: object): Promise<void> {
  await deliver(probot, name, payload);
  await intakes.get(probot)!.settled();
}

/** The two build specs of acme/web, as the repo index keyed them. */
function specs(runtime: Runtime) {
  const [image, worker] = runtime.index.get('acme/web')!.specs;
  expect(image.label).toBe('Dockerfile');
  expect(worker.label).toBe('worker/Dockerfile');
  return { image: image.key, worker: worker.key };
}

interface JobView {
  pool: Arch;
  id: string | undefined;
  state: string;
  data: BuildJobData;
}

async function buildJobs(runtime: Runtime): Promise<JobView[]> {
  const out: JobView[] = [];
  for (const pool of POOLS) {
    for (const job of await runtime.queues.build(pool).getJobs()) {
      out.push({ pool, id: job.id, state: await job.getState(), data: job.data });
    }
  }
  return out.sort((a, b) => (a.id ?? '').localeCompare(b.id ?? ''));
}

async function totalJobs(runtime: Runtime): Promise<number> {
  let total = 0;
  const { queues } = runtime;
  for (const queue of [...POOLS.map((p) => queues.build(p)), queues.checks]) {
    const counts = await queue.getJobCounts();
    total += Object.values(counts).reduce((a, b) => a + b, 0);
  }
  return total + (await queues.intake.backlog());
}

/** The three builds of acme/web at `commit`, as they should be enqueued. */
function expectedJobs(
  runtime: Runtime,
  commit: string,
  data: Partial<BuildJobData> = {},
): Omit<JobView, 'state'>[] {
  const { image, worker } = specs(runtime);
  const job = (specKey: string, pool: Arch) => ({
    pool,
    id: `build-${specKey}-${commit}-${pool}`,
    data: {
      repo: 'acme/web',
      cloneUrl: web.cloneUrl,
      sha: commit,
      ref: 'refs/heads/main',
      specKey,
      pool,
      fork: false,
      installationId: INSTALLATION,
      ...data,
    },
  });
  return [job(image, 'linux-x86_64'), job(image, 'linux-arm64'), job(worker, 'linux-x86_64')].sort(
    (a, b) => a.id.localeCompare(b.id),
  );
}

/** Moves every waiting build to completed, as a worker would once it finished. */
async function finishAll(runtime: Runtime): Promise<void> {
  for (const pool of POOLS) {
    await runtime.queues.build(pool).promoteJobs(); // builds of pushes wait a moment first
    const worker = new Worker(`build-${pool}`, null, {
      connection: runtime.redis,
      prefix: runtime.queues.prefix,
    });
    const token = randomUUID();
    try {
      for (;;) {
        const job = await worker.getNextJob(token, { block: false });
        if (!job) break;
        await job.moveToCompleted('built', token, false);
      }
    } finally {
      await worker.close();
    }
  }
}

// GitHub is nock and only nock: nothing reaches the network, nothing is left pending.
const unmatched: string[] = [];
const onNoMatch = (req: { method?: string; path?: string; href?: string }) =>
  unmatched.push(`${req.method} ${req.href ?? req.path}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1'); // Redis
  nock.emitter.on('no match', onNoMatch);
});
afterEach(() => {
  const pending = nock.pendingMocks();
  const strays = unmatched.splice(0);
  nock.cleanAll();
  expect(pending).toEqual([]);
  expect(strays).toEqual([]);
  expect(nock.isDone()).toBe(true);
});
afterAll(async () => {
  nock.emitter.off('no match', onNoMatch);
  nock.enableNetConnect();
  await Promise.all([...intakes.values()].map((i) => i.close()));
  await Promise.all(apps.map((a) => a.close()));
});

describe('webhook handlers → real queues and records (Redis)', () => {
  it('push: one job per build spec × pool, identities only in the job data', async () => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await receive(probot, 'push', pushPayload(web, 'main', commit));

    const jobs = await buildJobs(runtime);
    expect(jobs.map(({ state: _, ...j }) => j)).toEqual(expectedJobs(runtime, commit));
    // A lone push builds at once (behind builds to be deployed: this branch deploys nothing).
    expect(jobs.every((j) => j.state === 'prioritized')).toBe(true);
    const serialized = JSON.stringify(jobs.map((j) => j.data));
    for (const secret of [WEBHOOK_SECRET, 'PRIVATE KEY', 'ghs_', 'x-access-token', 'password']) {
      expect(serialized).not.toContain(secret);
    }

    const records = await runtime.store.records('acme/web', commit);
    expect(records.map((r) => `${r.label}@${r.pool}:${r.status}`).sort()).toEqual([
      'Dockerfile@linux-arm64:queued',
      'Dockerfile@linux-x86_64:queued',
      'worker/Dockerfile@linux-x86_64:queued',
    ]);
    expect(records.map((r) => r.jobId).sort()).toEqual(jobs.map((j) => j.id));
    expect(await runtime.store.meta('acme/web', commit)).toEqual({
      ref: 'refs/heads/main',
      fork: false,
      cloneUrl: web.cloneUrl,
      installationId: INSTALLATION,
    });
    expect(await runtime.store.heads('acme/web')).toEqual({ 'refs/heads/main': commit });
    // The check run is written later, from the checks queue, not on the request path.
    const syncs = await runtime.queues.checks.getJobs();
    expect(syncs.map((j) => j.data)).toEqual([{ repo: 'acme/web', sha: commit }]);
  });

  it.each(['opened', 'synchronize', 'reopened'] as const)(
    'pull_request.%s: jobs on refs/pull/N/head',
    async (action) => {
      const { probot, runtime } = await freshApp();
      const commit = sha();
      await receive(probot, 'pull_request', pullRequestPayload(web, action, 17, commit));

      const jobs = await buildJobs(runtime);
      expect(jobs.map(({ state: _, ...j }) => j)).toEqual(
        expectedJobs(runtime, commit, { ref: 'refs/pull/17/head' }),
      );
      expect(await runtime.store.heads('acme/web')).toEqual({ 'refs/pull/17/head': commit });
    },
  );

  it('on the request path, one Redis command: the delivery added to the intake queue', async () => {
    // No intake runs here: what is left is what the request path did.
    const app = await loadTestApp(flavour);
    apps.push(app);
    const { probot, runtime } = app;
    await deliver(probot, 'push', pushPayload(web, 'main', sha())); // connected
    await runtime.queues.intake.queue.drain();
    const commit = sha();
    const before = sha();
    const id = randomUUID();
    const payload = pushPayload(web, 'main', commit, before);
    const commands: string[] = [];
    const send = runtime.redis.sendCommand.bind(runtime.redis);
    runtime.redis.sendCommand = (...args) => (commands.push(args[0].name), send(...args));
    await deliver(probot, 'push', payload, id);
    runtime.redis.sendCommand = send;
    expect(commands).toEqual(['evalsha']);

    const jobs = await runtime.queues.intake.queue.getJobs();
    expect(jobs.map((j) => j.data)).toEqual([
      {
        delivery: id,
        before,
        commit: {
          owner: 'acme',
          name: 'web',
          cloneUrl: web.cloneUrl,
          sha: commit,
          ref: 'refs/heads/main',
          fork: false,
          installationId: INSTALLATION,
        },
      },
    ]);
    expect(await totalJobs(runtime)).toBe(1);
    expect(await runtime.store.heads('acme/web')).toEqual({});
  });

  it('deliveries handled together share one write', async () => {
    const app = await loadTestApp(flavour);
    apps.push(app);
    const { probot, runtime } = app;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const payloads = ids.map(() => pushPayload(web, 'main', sha()));
    await runtime.redis.ping(); // connected: its socket exists
    // Socket writes carrying a job (the queues write their own metadata once, besides).
    let writes = 0;
    const stream = runtime.redis.stream!;
    const write = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: never[]) => {
      if (String(chunk).includes('evalsha')) writes++;
      return write(chunk as string, ...rest);
    }) as typeof write;
    await Promise.all(ids.map((id, i) => deliver(probot, 'push', payloads[i], id)));
    stream.write = write;
    expect(writes).toBe(1);
    const jobs = await runtime.queues.intake.queue.getJobs();
    expect(jobs.map((j) => j.data.delivery).sort()).toEqual([...ids].sort());
  });

  it('a pull request from a fork is built with fork: true', async () => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await receive(probot, 'pull_request', pullRequestPayload(web, 'opened', 8, commit, true));

    const jobs = await buildJobs(runtime);
    expect(jobs.map(({ state: _, ...j }) => j)).toEqual(
      expectedJobs(runtime, commit, { ref: 'refs/pull/8/head', fork: true }),
    );
    expect((await runtime.store.meta('acme/web', commit))?.fork).toBe(true);
  });

  // Each payload names `commit` (a deleted branch's former head, for a deletion).
  const ignored: [string, string, (commit: string) => object][] = [
    ['a closed pull request', 'pull_request', (c) => pullRequestPayload(web, 'closed', 3, c)],
    ['a tag push', 'push', (c) => ({ ...pushPayload(web, 'main', c), ref: 'refs/tags/v1.0.0' })],
    [
      'a branch deletion',
      'push',
      (c) => ({ ...pushPayload(web, 'gone', '0'.repeat(40), c), deleted: true }),
    ],
    [
      'a push to an unwatched repository',
      'push',
      (c) => pushPayload({ ...web, name: 'other' }, 'main', c),
    ],
    [
      "a re-run of another app's check run",
      'check_run',
      (c) => {
        const p = rerequestPayload(web, 'check_run', c, 'main');
        p.check_run.name = 'ci/other-app';
        return p;
      },
    ],
  ];
  it.each(ignored)('%s: nothing enqueued, nothing recorded, no GitHub call', async (_, name, p) => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await expect(receive(probot, name, p(commit))).resolves.toBeUndefined();
    expect(await totalJobs(runtime)).toBe(0);
    for (const repo of ['acme/web', 'acme/other']) {
      expect(await runtime.store.heads(repo)).toEqual({});
      for (const known of [commit, '0'.repeat(40)]) {
        expect(await runtime.store.meta(repo, known)).toBeUndefined();
        expect(await runtime.store.records(repo, known)).toEqual([]);
      }
    }
  });

  it('a push that finds the last one still building waits a moment, so a burst coalesces', async () => {
    const { probot, runtime } = await freshApp();
    const [first, second] = [sha(), sha()];
    await receive(probot, 'push', pushPayload(web, 'main', first));
    await receive(probot, 'push', pushPayload(web, 'main', second, first));

    const jobs = await buildJobs(runtime);
    expect(jobs.map((j) => j.id)).toEqual(expectedJobs(runtime, second).map((j) => j.id));
    expect(jobs.every((j) => j.state === 'delayed')).toBe(true);
    const cancelled = await runtime.store.records('acme/web', first);
    expect(cancelled.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('the same commit pushed to two branches is built once', async () => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await receive(probot, 'push', pushPayload(web, 'main', commit));
    await receive(probot, 'push', pushPayload(web, 'release', commit));

    const jobs = await buildJobs(runtime);
    expect(jobs.map(({ state: _, ...j }) => j)).toEqual(expectedJobs(runtime, commit));
    expect(await runtime.store.records('acme/web', commit)).toHaveLength(3);
    expect(await runtime.store.heads('acme/web')).toEqual({
      'refs/heads/main': commit,
      'refs/heads/release': commit,
    });
  });

  it('check_run.rerequested for a finished commit re-adds its builds', async () => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await receive(probot, 'push', pushPayload(web, 'main', commit));
    await finishAll(runtime);
    for (const r of await runtime.store.records('acme/web', commit)) {
      await runtime.store.putRecord('acme/web', commit, {
        ...r,
        status: 'success',
        startedAt: r.queuedAt,
        finishedAt: r.queuedAt + 1000,
      });
    }
    await runtime.store.noteCheckRun('acme/web', commit, { checkRunId: 99, lastWritten: '{}' });
    expect((await buildJobs(runtime)).map((j) => j.state)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);

    await receive(probot, 'check_run', rerequestPayload(web, 'check_run', commit, 'main'));

    const jobs = await buildJobs(runtime);
    expect(jobs.map(({ state: _, ...j }) => j)).toEqual(expectedJobs(runtime, commit));
    expect(jobs.map((j) => j.state)).toEqual(['prioritized', 'prioritized', 'prioritized']);
    const records = await runtime.store.records('acme/web', commit);
    expect(records.map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
    // A re-run gets a fresh check run, and keeps how the commit first came.
    expect(await runtime.store.meta('acme/web', commit)).toEqual({
      ref: 'refs/heads/main',
      fork: false,
      cloneUrl: web.cloneUrl,
      installationId: INSTALLATION,
    });
  });
});

describe('check-run writer (processCheckSync) → GitHub, exact requests', () => {
  type Captured = { method: string; path: string; body: unknown };

  it('creates the check run queued, completes it once, and skips a write that changes nothing', async () => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await receive(probot, 'push', pushPayload(web, 'main', commit));
    const { image, worker } = specs(runtime);
    const url = (spec: string, pool: Arch) => `${BASE_URL}/jobs/build-${spec}-${commit}-${pool}`;
    const deps = {
      store: runtime.store,
      baseUrl: BASE_URL,
      github: (id: number) => probot.auth(id),
    };
    const job = { data: { repo: 'acme/web', sha: commit } } as Job<CheckJobData>;

    const captured: Captured[] = [];
    // nock hands an empty body over as ''; GitHub's description calls that no body.
    const capture = (method: string, path: string) => (body: unknown) => {
      captured.push({ method, path, body: body === '' ? undefined : body });
      return true;
    };
    const api = nock('https://api.github.com');
    const token = 'ghs_nockInstallationToken000000000000000';
    const tokenPath = `/app/installations/${INSTALLATION}/access_tokens`;
    api
      .post(tokenPath, capture('POST', tokenPath))
      .matchHeader('authorization', /^bearer /i)
      .reply(201, {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        permissions: { checks: 'write', contents: 'read' },
        repository_selection: 'all',
      })
      .post('/repos/acme/web/check-runs', capture('POST', '/repos/acme/web/check-runs'))
      .matchHeader('authorization', `token ${token}`)
      .reply(201, { id: 4711 });

    expect(await processCheckSync(deps, job)).toBe('queued');
    expect(captured.map((c) => `${c.method} ${c.path}`)).toEqual([
      `POST ${tokenPath}`,
      'POST /repos/acme/web/check-runs',
    ]);
    expect(captured[0].body).toBeUndefined();
    expect(captured[1].body).toEqual({
      name: 'deployability',
      head_sha: commit,
      status: 'queued',
      actions: [], // no button: nothing waits for an admin's confirmation
      details_url: url(image, 'linux-arm64'),
      output: {
        title: '3 builds queued',
        summary: [
          '| Build | Pool | Status | Time |',
          '| --- | --- | --- | --- |',
          `| [Dockerfile](${url(image, 'linux-arm64')}) | linux-arm64 | ⏳ queued |  |`,
          `| [Dockerfile](${url(image, 'linux-x86_64')}) | linux-x86_64 | ⏳ queued |  |`,
          `| [worker/Dockerfile](${url(worker, 'linux-x86_64')}) | linux-x86_64 | ⏳ queued |  |`,
        ].join('\n'),
      },
    });
    expect((await runtime.store.meta('acme/web', commit))?.checkRunId).toBe(4711);
    expect(nock.isDone()).toBe(true);

    // Every build passed.
    const seconds: Record<string, number> = {
      [`${image}@linux-arm64`]: 65,
      [`${image}@linux-x86_64`]: 42,
      [`${worker}@linux-x86_64`]: 5,
    };
    for (const r of await runtime.store.records('acme/web', commit)) {
      const startedAt = r.queuedAt + 1000;
      await runtime.store.putRecord('acme/web', commit, {
        ...r,
        status: 'success',
        startedAt,
        finishedAt: startedAt + seconds[`${r.specKey}@${r.pool}`] * 1000,
      });
    }
    api
      .patch('/repos/acme/web/check-runs/4711', capture('PATCH', '/repos/acme/web/check-runs/4711'))
      .matchHeader('authorization', `token ${token}`)
      .reply(200, { id: 4711 });
    const before = Date.now();
    expect(await processCheckSync(deps, job)).toBe('completed/success');
    expect(captured.slice(2).map((c) => `${c.method} ${c.path}`)).toEqual([
      'PATCH /repos/acme/web/check-runs/4711',
    ]);
    const patch = captured[2].body as { completed_at: string };
    expect(patch).toEqual({
      status: 'completed',
      conclusion: 'success',
      actions: [],
      completed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      details_url: url(image, 'linux-arm64'),
      output: {
        title: '3 of 3 builds passed',
        summary: [
          '| Build | Pool | Status | Time |',
          '| --- | --- | --- | --- |',
          `| [Dockerfile](${url(image, 'linux-arm64')}) | linux-arm64 | ✅ passed | 1m 05s |`,
          `| [Dockerfile](${url(image, 'linux-x86_64')}) | linux-x86_64 | ✅ passed | 42s |`,
          `| [worker/Dockerfile](${url(worker, 'linux-x86_64')}) | linux-x86_64 | ✅ passed | 5s |`,
        ].join('\n'),
      },
    });
    expect(Date.parse(patch.completed_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(patch.completed_at)).toBeLessThanOrEqual(Date.now() + 1000);

    // Nothing changed: no request at all (nock has no interceptor left, the net is off).
    expect(await processCheckSync(deps, job)).toBe('unchanged');
    expect(captured).toHaveLength(3);

    for (const c of captured) expect(githubRequestProblems(c.method, c.path, c.body)).toEqual([]);
  });

  it('a commit that arrives again with nothing new causes no check-run write', async () => {
    const { probot, runtime } = await freshApp();
    const commit = sha();
    await receive(probot, 'push', pushPayload(web, 'main', commit));
    const deps = {
      store: runtime.store,
      baseUrl: BASE_URL,
      github: (id: number) => probot.auth(id),
    };
    const job = { data: { repo: 'acme/web', sha: commit } } as Job<CheckJobData>;
    const writes: string[] = [];
    nock('https://api.github.com')
      .post(`/app/installations/${INSTALLATION}/access_tokens`)
      .reply(201, { token: 'ghs_x', expires_at: new Date(Date.now() + 3600_000).toISOString() })
      .post('/repos/acme/web/check-runs')
      .reply(201, { id: 7 });
    expect(await processCheckSync(deps, job)).toBe('queued');

    await receive(probot, 'pull_request', pullRequestPayload(web, 'opened', 4, commit));
    nock('https://api.github.com')
      .patch('/repos/acme/web/check-runs/7', (body) => {
        writes.push(JSON.stringify(body));
        return true;
      })
      .reply(200, { id: 7 });
    const outcome = await processCheckSync(deps, job);
    nock.cleanAll();
    expect(writes).toEqual([]);
    expect(outcome).toBe('unchanged');
  });
});
