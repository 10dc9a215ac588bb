import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuildImages } from '../helpers/build-images.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { dockerAnswers, restartDockerd } from '../helpers/dockerd.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { jobSettled, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { busybox } from '../helpers/swarm.js';

const POOL = 'linux-x86_64';
const ENGINE_LOST = /^Error: (lost the Docker engine|cannot reach the Docker engine)/m;

describe('dockerd restarted in the middle of a build', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let checks: CheckRuns;
  const shas: string[] = [];
  const where = { owner: 'acme', name: 'sturdy', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'sturdy');
    where.cloneUrl = git.cloneUrl('acme', 'sturdy');
    h = await startHarness(testFlavour({ repos: [testRepo('acme/sturdy')] }));
    checks = trackCheckRuns(h.github);
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    if (h) removeBuildImages(h, 'acme/sturdy', shas);
  });

  it('is retried a bounded number of times with backoff, and concludes clearly', async () => {
    repo.write({ busybox }, 0o755);
    repo.write({
      'n.txt': `${Date.now()}\n`, // a fresh layer: the build really runs
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY n.txt /n.txt\nRUN ["/bin/busybox","sleep","30"]\n',
    });
    const sha = repo.commit('slow build');
    shas.push(sha);
    repo.push('main');
    expect((await h.send('push', pushPayload(where, 'main', sha))).status).toBe(200);

    const builds = h.deployer.runtime.queues.build(POOL);
    const job = await waitFor('the build to be running its RUN step', async () => {
      const [active] = await builds.getActive();
      const { logs } = active ? await builds.getJobLogs(active.id!) : { logs: [] };
      return logs.join('\n').includes('sleep') ? active : undefined;
    });
    const restarted = Date.now();
    await restartDockerd();

    const concluded = await waitFor('the check run to conclude', () => checks.concluded(sha));
    await jobSettled(builds, job.id!);
    const done = (await builds.getJob(job.id!))!;
    const { logs } = await builds.getJobLogs(job.id!);
    const log = logs.join('\n');
    // The attempt the restart cut off says what happened; there were at most three.
    expect(log).toMatch(ENGINE_LOST);
    expect(done.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(done.attemptsMade).toBeLessThanOrEqual(3);
    if (concluded.conclusion === 'success') {
      expect(await done.getState()).toBe('completed');
      expect(log.match(/^Built sha256:/gm)).toHaveLength(1);
    } else {
      expect(concluded.conclusion).toBe('failure');
      expect(concluded.output?.text).toMatch(/(lost|cannot reach) the Docker engine/);
      expect(concluded.output?.text).toContain('(after 3 attempts)');
    }
    // Backoff, not a hang: three attempts and their pauses (5 s, 10 s) fit well within this.
    expect(Date.now() - restarted).toBeLessThan(90_000);
  }, 180_000);

  it('leaves the machine as it was: the engine, its swarm and the other services answer', async () => {
    expect(await dockerAnswers()).toBe(true);
    const status = await promisify(execFile)('bash', [
      join(import.meta.dirname, '../../scripts/services.sh'),
      'status',
    ]);
    expect(status.stdout).not.toMatch(/^down/m);
  });
});
