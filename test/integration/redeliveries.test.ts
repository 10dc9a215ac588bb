import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlavour } from '../../src/config/load.js';
import { startDeployer, type RunningDeployer } from '../../src/entry/start.js';
import { removeBuildImages } from '../helpers/build-images.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import {
  sendWebhook,
  startHarness,
  TestOctokit,
  waitFor,
  type Harness,
} from '../helpers/harness.js';
import { intakeJobId } from '../../src/jobs/intake-queue.js';
import { intakeSettled } from '../helpers/intake.js';
import { pushPayload } from '../helpers/payloads.js';
import { deleteKeys } from '../helpers/redis-keys.js';

const POOL = 'linux-x86_64';

describe('GitHub redelivers webhooks (same X-GitHub-Delivery), also across a receiver restart', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let checks: CheckRuns;
  // What runs besides the harness's first deployer, once that one is closed.
  const later: RunningDeployer[] = [];
  let firstClosed = false;
  const shas: string[] = [];
  const target = { owner: 'acme', name: 'redeliver', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'redeliver');
    target.cloneUrl = git.cloneUrl('acme', 'redeliver');
    h = await startHarness(testFlavour({ repos: [testRepo('acme/redeliver')] }));
    checks = trackCheckRuns(h.github);
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
  });
  afterAll(async () => {
    for (const d of later) await d.close();
    if (h && !firstClosed) await h.deployer.close();
    await h?.github.stop();
    await git?.stop();
    if (h) {
      removeBuildImages(h, 'acme/redeliver', shas);
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
  });

  /** A new commit on main; its build sleeps `seconds` (a fresh layer each time). */
  function commit(seconds: number): string {
    repo.write({
      'nonce.txt': randomUUID(),
      Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY nonce.txt /nonce.txt\nRUN ["/bin/busybox","sleep","${seconds}"]\n`,
    });
    const sha = repo.commit(`sleep ${seconds}`);
    repo.push('main');
    shas.push(sha);
    return sha;
  }

  /** Every build job of the flavour, by id, with its state. */
  async function buildJobs(): Promise<Record<string, string>> {
    const queue = runtime().queues.build(POOL);
    const out: Record<string, string> = {};
    for (const job of await queue.getJobs()) out[job.id!] = await job.getState();
    return out;
  }

  const head = async () => (await runtime().store.heads('acme/redeliver'))['refs/heads/main'];
  /** The runtime of the deployer running now (the harness's until it is closed). */
  const runtime = () => (later[0] ?? h.deployer).runtime;

  it('handles each delivery once: a late redelivery neither moves the head back nor cancels the newer build', async () => {
    const a = commit(0);
    const pushA = pushPayload(target, 'main', a);
    const deliveryA = randomUUID();
    const twice = await Promise.all([
      h.send('push', pushA, { delivery: deliveryA }),
      h.send('push', pushA, { delivery: deliveryA }),
    ]);
    expect(twice.map((r) => r.status)).toEqual([200, 200]);
    expect((await waitFor('A concluded', () => checks.concluded(a))).conclusion).toBe('success');
    expect(checks.created(a)).toHaveLength(1);
    // The check run is written just before the worker hands the job back to BullMQ.
    const settled = await waitFor('the build job to complete', async () => {
      const states = Object.values(await buildJobs());
      return states.includes('active') ? undefined : states;
    });
    expect(settled).toEqual(['completed']);
    // The second added nothing; the first was taken in, and is kept for a day.
    const intake = runtime().queues.intake;
    expect(await intake.backlog()).toBe(0);
    expect(await intake.taken(intakeJobId(pushA))).toBe(true);

    const b = commit(4);
    const deliveryB = randomUUID();
    await h.send('push', pushPayload(target, 'main', b, a), { delivery: deliveryB });
    await waitFor('B building', () =>
      checks.writes(b).some((w) => w.status === 'in_progress') ? true : undefined,
    );
    // GitHub's "Redeliver" of A's push, while B builds.
    expect((await h.send('push', pushA, { delivery: deliveryA })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(await head()).toBe(b);
    const doneB = await waitFor('B concluded', () => checks.concluded(b), 30_000);
    expect(doneB.conclusion).toBe('success');
    expect(checks.created(b)).toHaveLength(1);

    // The receiver restarts (same Redis, same prefix); GitHub redelivers B's push to it.
    await h.deployer.close();
    firstClosed = true;
    const start = (roles: { receiver: boolean; worker: boolean }) =>
      startDeployer({
        env: h.env,
        flavour: parseFlavour(h.flavour, 'test flavour'),
        probotEnv: h.probotEnv as NodeJS.ProcessEnv,
        pools: [POOL],
        Octokit: TestOctokit,
        ...roles,
      }).then((d) => (later.push(d), d));
    const receiver = await start({ receiver: true, worker: false });
    const { queues } = receiver.runtime;
    expect(runtime()).toBe(receiver.runtime);
    const jobsBefore = await buildJobs();
    expect(Object.values(jobsBefore)).toEqual(['completed', 'completed']);
    const writesBefore = h.github.checkRunWrites().length;

    const pushB = pushPayload(target, 'main', b, a);
    const again = await sendWebhook(receiver.url!, 'push', pushB, { delivery: deliveryB });
    expect(again.status).toBe(200);
    // Known: nothing is added, and the receiver asks for nothing else.
    expect(await queues.intake.backlog()).toBe(0);
    expect(await queues.checks.getJobCountByTypes('waiting', 'active', 'prioritized')).toBe(0);

    // The same signed delivery under a new delivery id (a replay) adds nothing either.
    const other = await sendWebhook(receiver.url!, 'push', pushB, { delivery: randomUUID() });
    expect(other.status).toBe(200);
    expect(await queues.intake.backlog()).toBe(0);

    // A worker takes it in and writes what is asked: nothing changed, so nothing reaches GitHub.
    await start({ receiver: false, worker: true });
    await intakeSettled(receiver.runtime);
    expect(await buildJobs()).toEqual(jobsBefore);
    await waitFor('the check-run sync', async () =>
      (await queues.checks.getJobCountByTypes('waiting', 'active', 'prioritized', 'delayed')) === 0
        ? true
        : undefined,
    );
    expect(await buildJobs()).toEqual(jobsBefore);
    expect(await head()).toBe(b);
    expect(h.github.checkRunWrites()).toHaveLength(writesBefore);
    expect(checks.created(a)).toHaveLength(1);
    expect(checks.created(b)).toHaveLength(1);
    expect(h.github.problems).toEqual([]);
  }, 90_000);
});
