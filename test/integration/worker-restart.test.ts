import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { spawnWorker, untilLogged } from '../helpers/worker-process.js';

type Body = { status?: string; conclusion?: string; head_sha?: string };

describe('a worker killed mid-build', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  const children: ChildProcess[] = [];
  const target = { owner: 'acme', name: 'slow', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'slow');
    target.cloneUrl = git.cloneUrl('acme', 'slow');
    // Receiver only, in this process; workers are separate processes we can kill.
    h = await startHarness(testFlavour({ repos: [testRepo('acme/slow')] }), {
      worker: false,
      jobLockMs: 3_000,
    });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await h?.close();
    await git?.stop();
  });

  it('leaves a job that another worker retries to success', async () => {
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
    repo.write({
      Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sleep", "5"]\n',
    });
    const sha = repo.commit('slow build');
    repo.push('main');

    const first = spawnWorker(h);
    children.push(first);
    expect((await h.send('push', pushPayload(target, 'main', sha))).status).toBe(200);

    const jobs = h.deployer.runtime.queues.build('linux-x86_64');
    const job = await waitFor('the build to be taken by the first worker', async () => {
      const active = await jobs.getActive();
      return active.length ? active[0] : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = spawnWorker(h);
    children.push(second);
    const concluded = await waitFor(
      'the retried build to conclude',
      () =>
        h.github
          .checkRunWrites()
          .map((r) => r.body as Body)
          .find((b) => b.conclusion) ?? undefined,
      90_000,
    );
    expect(concluded.conclusion).toBe('success');
    // The check run is written just before the worker hands the job back to BullMQ.
    const finished = await waitFor('the job to complete', async () => {
      const j = await jobs.getJob(job.id!);
      return (await j?.getState()) === 'completed' ? j : undefined;
    });
    // The stalled attempt was detected and counted, then the job ran again.
    expect(finished?.stalledCounter).toBe(1);
  }, 120_000);

  it('exits cleanly on SIGTERM', async () => {
    const worker = spawnWorker(h, { LOG_LEVEL: 'info' });
    children.push(worker);
    await untilLogged(worker, 'worker started');
    worker.kill('SIGTERM');
    const code = await new Promise((r) => worker.once('exit', (c) => r(c)));
    expect(code).toBe(0);
  }, 30_000);
});
