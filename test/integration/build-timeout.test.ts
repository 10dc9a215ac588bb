import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';

describe('a build that takes too long', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  const where = { owner: 'acme', name: 'slowpoke', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'slowpoke');
    where.cloneUrl = git.cloneUrl('acme', 'slowpoke');
    h = await startHarness(testFlavour({ repos: [testRepo('acme/slowpoke')] }), {
      buildTimeoutMs: 3_000,
    });
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  it('fails with a clear reason when its time is up, and is not retried', async () => {
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
    repo.write({
      Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sleep", "30"]\n',
    });
    const sha = repo.commit('hangs');
    repo.push('main');
    const started = Date.now();
    await h.send('push', pushPayload(where, 'main', sha));
    const done = await waitFor('the check run to conclude', () =>
      h.github
        .checkRunWrites()
        .map((r) => r.body as { conclusion?: string; output?: { text?: string } })
        .find((b) => b.conclusion),
    );
    expect(done.conclusion).toBe('failure');
    expect(done.output?.text).toContain('Build failed: timed out after 3s');
    expect(Date.now() - started).toBeLessThan(20_000);
    // The check run is written just before BullMQ records the job as failed.
    const queue = h.deployer.runtime.queues.build('linux-x86_64');
    const job = await waitFor('the failed job', async () => (await queue.getJobs(['failed']))[0]);
    expect(job.attemptsMade).toBe(1);
  });
});
