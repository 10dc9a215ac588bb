import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/plan/check-run-output.js';
import { removeBuildImages } from '../helpers/build-images.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor } from '../helpers/harness.js';
import { pullRequestPayload, pushPayload, type RepoRef } from '../helpers/payloads.js';
import { deleteKeys } from '../helpers/redis-keys.js';
import { busybox, REGISTRY } from '../helpers/swarm.js';

describe('untrusted builds (pull requests from forks) and trusted work', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function start(buildsPerPool?: number) {
    const git = await new GitServer().start();
    const id = uniqueName('untrusted').toLowerCase();
    const repo = git.createRepo('acme', id);
    const where: RepoRef = { owner: 'acme', name: id, cloneUrl: git.cloneUrl('acme', id) };
    const h = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/staging-${id}`,
        repos: [
          testRepo(`acme/${id}`, {
            deployments: [{ branch: 'live', target: `${REGISTRY}/acme/${id}:live` }],
          }),
        ],
      }),
      { buildsPerPool },
    );
    const shas: string[] = [];
    cleanups.push(async () => {
      await h.close();
      await git.stop();
      removeBuildImages(h, `acme/${id}`, shas);
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    });
    return { h, repo, where, shas };
  }

  /** A commit whose build sleeps `seconds` (a fresh layer each time: nothing cached). */
  function sleeper(repo: GitRepo, shas: string[], seconds: number): string {
    repo.write({ busybox }, 0o755);
    repo.write({
      'nonce.txt': randomUUID(),
      Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY nonce.txt /nonce.txt\nRUN ["/bin/busybox", "sleep", "${seconds}"]\n`,
    });
    const sha = repo.commit(`sleep ${seconds}`);
    shas.push(sha);
    return sha;
  }

  async function forkPullRequest(
    s: Awaited<ReturnType<typeof start>>,
    number: number,
    sha: string,
  ): Promise<void> {
    execFileSync('git', [
      '-C',
      s.repo.work,
      'push',
      '-q',
      'origin',
      `${sha}:refs/pull/${number}/head`,
    ]);
    const payload = pullRequestPayload(s.where, 'opened', number, sha, true);
    expect((await s.h.send('pull_request', payload)).status).toBe(200);
  }

  const record = async (s: Awaited<ReturnType<typeof start>>, sha: string) =>
    (await s.h.deployer.runtime.store.records(s.where.owner + '/' + s.where.name, sha))[0] as
      BuildRecord | undefined;

  const finished = (s: Awaited<ReturnType<typeof start>>, sha: string) =>
    waitFor(
      `${sha.slice(0, 7)} built`,
      async () => {
        const r = await record(s, sha);
        return r?.finishedAt ? r : undefined;
      },
      60_000,
    );

  it('a push to a deployment branch is built before fork builds queued earlier', async () => {
    const s = await start();
    const running = sleeper(s.repo, s.shas, 3);
    await forkPullRequest(s, 1, running);
    await waitFor('the first fork build to run', async () =>
      (await record(s, running))?.status === 'running' ? true : undefined,
    );
    const queuedFork = sleeper(s.repo, s.shas, 0);
    await forkPullRequest(s, 2, queuedFork);
    await waitFor('the second fork build to be queued', async () =>
      (await record(s, queuedFork))?.status === 'queued' ? true : undefined,
    );
    const live = sleeper(s.repo, s.shas, 0);
    s.repo.push('live');
    expect((await s.h.send('push', pushPayload(s.where, 'live', live))).status).toBe(200);

    const [liveBuild, forkBuild] = [await finished(s, live), await finished(s, queuedFork)];
    expect(liveBuild.status).toBe('success');
    expect(forkBuild.status).toBe('success');
    expect(liveBuild.startedAt!).toBeLessThan(forkBuild.startedAt!);
  }, 120_000);

  it('runs one untrusted build of a repository at a time, and trusted builds beside it', async () => {
    const s = await start(2);
    const first = sleeper(s.repo, s.shas, 3);
    const second = sleeper(s.repo, s.shas, 0);
    const trusted = sleeper(s.repo, s.shas, 1);
    await forkPullRequest(s, 1, first);
    await waitFor('the first fork build to run', async () =>
      (await record(s, first))?.status === 'running' ? true : undefined,
    );
    await forkPullRequest(s, 2, second);
    s.repo.push('main');
    expect((await s.h.send('push', pushPayload(s.where, 'main', trusted))).status).toBe(200);

    const [a, b, c] = [
      await finished(s, first),
      await finished(s, second),
      await finished(s, trusted),
    ];
    expect([a.status, b.status, c.status]).toEqual(['success', 'success', 'success']);
    expect(b.startedAt!).toBeGreaterThanOrEqual(a.finishedAt!);
    expect(c.startedAt!).toBeLessThan(a.finishedAt!);
  }, 120_000);
});
