import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuildImages } from '../helpers/build-images.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { RedisServer } from '../helpers/redis-server.js';

const POOL = 'linux-x86_64';

describe('Redis killed -9 and restarted while builds are queued and running', () => {
  let redis: RedisServer;
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let checks: CheckRuns;
  const shas: string[] = [];
  const target = { owner: 'acme', name: 'durable', cloneUrl: '' };

  beforeAll(async () => {
    redis = await new RedisServer().start();
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'durable');
    target.cloneUrl = git.cloneUrl('acme', 'durable');
    h = await startHarness(testFlavour({ repos: [testRepo('acme/durable')] }), {
      redisUrl: redis.url,
    });
    checks = trackCheckRuns(h.github);
    repo.write({ busybox: readFileSync('/bin/busybox') }, 0o755);
  });
  afterAll(async () => {
    if (!redis.running) await redis.start(); // closing BullMQ needs its Redis
    await h?.close();
    await git?.stop();
    await redis?.stop();
    if (h) removeBuildImages(h, 'acme/durable', shas);
  });

  /** A commit on its own branch whose build takes a few seconds (a fresh layer each time). */
  async function pushSlowCommit(n: number): Promise<string> {
    repo.write({
      'n.txt': `${n} ${Date.now()}\n`,
      Dockerfile:
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY n.txt /n.txt\nRUN ["/bin/busybox","sleep","4"]\n',
    });
    const sha = repo.commit(`commit ${n}`);
    repo.push(`b${n}`);
    shas.push(sha);
    expect((await h.send('push', pushPayload(target, `b${n}`, sha))).status).toBe(200);
    return sha;
  }

  it('concludes every delivered commit once, losing none and completing none twice', async () => {
    for (let n = 1; n <= 4; n++) await pushSlowCommit(n);
    const builds = h.deployer.runtime.queues.build(POOL);
    await waitFor('one build running and others queued', async () => {
      // Branch builds carry a priority, so BullMQ keeps them as `prioritized`.
      const counts = await builds.getJobCounts('active', 'waiting', 'prioritized');
      return counts.active === 1 && counts.waiting + counts.prioritized >= 2 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1_000)); // well into `docker build`

    await redis.kill();
    await new Promise((r) => setTimeout(r, 2_000));
    await redis.start();
    // The receiver takes webhooks again once Redis is back.
    await pushSlowCommit(5);

    await waitFor(
      'every commit concluded',
      () => (shas.every((sha) => checks.concluded(sha)) ? true : undefined),
      75_000,
    );
    for (const sha of shas) expect(checks.concluded(sha)?.conclusion, sha).toBe('success');
    await waitFor('every build job completed', async () => {
      const counts = await builds.getJobCounts('completed');
      return counts.completed === shas.length ? true : undefined;
    });

    const { runtime } = h.deployer;
    expect(
      await builds.getJobCounts('failed', 'waiting', 'prioritized', 'active', 'delayed'),
    ).toEqual({
      failed: 0,
      waiting: 0,
      prioritized: 0,
      active: 0,
      delayed: 0,
    });
    // As many builds completed as there are commits, each commit's once: none completed twice.
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const completed = new RegExp(
      `^deployer_jobs_total\\{queue="build-${POOL}",state="completed"\\} (\\d+)$`,
      'm',
    ).exec(metrics)?.[1];
    expect(Number(completed)).toBe(shas.length);
    for (const sha of shas) {
      // One check run per commit, created once (the check-run writer did not start over).
      expect(checks.created(sha), sha).toHaveLength(1);
      const records = await runtime.store.records('acme/durable', sha);
      expect(records.map((r) => r.status)).toEqual(['success']);
      const jobId = records[0].jobId;
      expect(await builds.getJobState(jobId), jobId).toBe('completed');
      // The job log shows one finished build, not one per attempt.
      const { logs } = await builds.getJobLogs(jobId);
      expect(logs.join('\n').match(/^Built sha256:/gm), jobId).toHaveLength(1);
    }
    expect(h.github.problems).toEqual([]);
  }, 150_000);
});
