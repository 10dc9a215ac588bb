import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFlavour } from '../../src/config/load.js';
import { startDeployer } from '../../src/entry/start.js';
import { installationRepos } from '../../src/github/installation-repos.js';
import { repoRefs } from '../../src/github/repo-refs.js';
import { acceptCommit } from '../../src/jobs/intake.js';
import { scanRefs } from '../../src/jobs/tasks/scan-refs.js';
import { removeBuildImages } from '../helpers/build-images.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { restExample } from '../helpers/github-examples.js';
import type { GitHubStandIn } from '../helpers/github-stand-in.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, TestOctokit, waitFor, type Harness } from '../helpers/harness.js';
import { deleteKeys } from '../helpers/redis-keys.js';

const POOL = 'linux-x86_64';
const INSTALLATION = 42;
const FORK_PR = 7;
const OWN_PR = 8;

describe('on start, every branch and open pull request is checked without a webhook', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let checks: CheckRuns;
  const sha: Record<string, string> = { main: '', feature: '', fork: '' };

  /** A pull request as GitHub lists it, from the documented example. */
  function pull(number: number, head: string, from: string) {
    const pr = restExample<Record<string, any>[]>('GET', '/repos/{owner}/{repo}/pulls')[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ours = {
      name: 'scanned',
      full_name: 'acme/scanned',
      clone_url: git.cloneUrl('acme', 'scanned'),
    };
    Object.assign(pr, { number, state: 'open' });
    Object.assign(pr.base, { ref: 'main', sha: sha.main });
    Object.assign(pr.base.repo, ours, { owner: { ...pr.base.repo.owner, login: 'acme' } });
    Object.assign(pr.head, { ref: 'feature', sha: head });
    Object.assign(pr.head.repo, {
      name: 'scanned',
      full_name: `${from}/scanned`,
      clone_url: `https://example.invalid/${from}/scanned.git`,
      owner: { ...pr.head.repo.owner, login: from },
    });
    return pr;
  }

  /** GitHub as the App sees it: one installation, the repository, its branches and pull requests. */
  function stand(github: GitHubStandIn): void {
    checks = trackCheckRuns(github);
    const installation = restExample<Record<string, unknown>[]>('GET', '/app/installations')[0];
    github.route('GET', /^\/app\/installations$/, () => ({
      status: 200,
      body: [{ ...installation, id: INSTALLATION }],
    }));
    const visible = restExample('GET', '/installation/repositories');
    const [listed] = visible.repositories;
    Object.assign(listed, {
      name: 'scanned',
      full_name: 'acme/scanned',
      clone_url: git.cloneUrl('acme', 'scanned'),
      owner: { ...listed.owner, login: 'acme' },
    });
    github.route('GET', /^\/installation\/repositories$/, () => ({
      status: 200,
      body: { ...visible, total_count: 1 },
    }));
    const branch = (name: string, commit: string) => ({
      name,
      commit: {
        sha: commit,
        url: `http://${github.host}/api/v3/repos/acme/scanned/commits/${commit}`,
      },
      protected: false,
    });
    // One item a page: GitHub's Link header is what brings the second branch and pull request.
    github.listRoute(
      /^\/repos\/acme\/scanned\/branches$/,
      () => [branch('main', sha.main), branch('feature', sha.feature), branch('live', sha.main)],
      1,
    );
    github.listRoute(
      /^\/repos\/acme\/scanned\/pulls$/,
      (req) =>
        req.query.get('state') === 'open'
          ? [pull(FORK_PR, sha.fork, 'contributor'), pull(OWN_PR, sha.feature, 'acme')]
          : undefined,
      1,
    );
  }

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'scanned');
    repo.write({ Dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\n', 'hello.txt': 'main\n' });
    sha.main = repo.commit('main, pushed before the deployer ever ran');
    repo.push('main');
    repo.push('live');
    sha.feature = repo.write({ 'hello.txt': 'feature\n' }).commit('a feature');
    repo.push('feature');
    sha.fork = repo.write({ 'hello.txt': 'from a fork\n' }).commit('a contribution');
    // As GitHub does: the fork's commit is readable in the base repository at refs/pull/N/head.
    execFileSync('git', [
      '-C',
      repo.work,
      'push',
      '-q',
      'origin',
      `HEAD:refs/pull/${FORK_PR}/head`,
    ]);
    h = await startHarness(
      {
        baseUrl: 'http://deployer.test',
        repos: [
          {
            owner: 'acme',
            name: 'scanned',
            builds: [
              {
                dockerfile: 'Dockerfile',
                deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/scanned:live' }],
              },
            ],
          },
        ],
      },
      { stand },
    );
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    if (h) {
      removeBuildImages(h, 'acme/scanned', Object.values(sha));
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
  });

  const buildJobs = () =>
    h.deployer.runtime.queues
      .build(POOL)
      .getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
  const listed = (what: 'branches' | 'pulls') =>
    h.github.requests.filter((r) => r.method === 'GET' && r.path === `/repos/acme/scanned/${what}`);

  it('builds the branches and the fork’s pull request, the fork untrusted and never staged', async () => {
    for (const commit of [sha.main, sha.feature, sha.fork]) {
      const run = await waitFor(`the check run of ${commit.slice(0, 7)}`, () =>
        checks.concluded(commit),
      );
      expect(run.conclusion).toBe('success');
    }
    const jobs = await buildJobs();
    const bySha = (s: string) => jobs.filter((j) => j.data.sha === s).map((j) => j.data);
    expect(bySha(sha.main)).toEqual([
      expect.objectContaining({ ref: 'refs/heads/main', fork: false }),
    ]);
    // The feature branch is taken before the pull request that shares its head: built once, trusted.
    expect(bySha(sha.feature)).toEqual([
      expect.objectContaining({
        ref: 'refs/heads/feature',
        fork: false,
        installationId: INSTALLATION,
      }),
    ]);
    expect(bySha(sha.fork)).toEqual([
      expect.objectContaining({
        ref: `refs/pull/${FORK_PR}/head`,
        fork: true,
        installationId: INSTALLATION,
      }),
    ]);
    expect(jobs).toHaveLength(3);
    expect(jobs.filter((j) => j.id!.endsWith('-stage') || j.data.stage)).toEqual([]);
    expect(await h.deployer.runtime.queues.deploy.getJobs()).toEqual([]);
    // The deployment branch is catch-up's (which compares it with what was deployed).
    expect(await h.deployer.runtime.store.heads('acme/scanned')).toEqual({
      'refs/heads/main': sha.main,
      'refs/heads/feature': sha.feature,
      [`refs/pull/${FORK_PR}/head`]: sha.fork,
      [`refs/pull/${OWN_PR}/head`]: sha.feature,
    });
    // Every page was read, a hundred items at a time as asked.
    for (const what of ['branches', 'pulls'] as const) {
      const pages = listed(what).map((r) => [r.query.get('per_page'), r.query.get('page') ?? '1']);
      expect(pages).toEqual(
        [
          ['100', '1'],
          ['100', '2'],
          ['100', '3'],
        ].slice(0, what === 'branches' ? 3 : 2),
      );
    }
    expect(listed('pulls').every((r) => r.query.get('state') === 'open')).toBe(true);
    expect(h.github.problems).toEqual([]);
  });

  it('builds nothing again when it runs again, nor when another worker starts', async () => {
    const created = () => [sha.main, sha.feature, sha.fork].map((s) => checks.created(s).length);
    const before = { created: created(), jobs: (await buildJobs()).map((j) => j.id).sort() };
    const auth = (id?: number) => h.deployer.probot.auth(id);
    const deps = {
      ...h.deployer.runtime,
      visibleRepos: () => installationRepos(auth),
      refs: repoRefs(auth),
    };
    expect(await scanRefs(deps)).toEqual([]);

    // A restart: the schedule is there already, and the scan runs at once all the same.
    const listedBefore = listed('pulls').length;
    const second = await startDeployer({
      env: h.env,
      flavour: parseFlavour(h.flavour, 'test flavour'),
      probotEnv: h.probotEnv as NodeJS.ProcessEnv,
      receiver: false,
      worker: true,
      pools: [POOL],
      Octokit: TestOctokit,
    });
    try {
      const control = h.deployer.runtime.queues.control;
      await waitFor('the scan on start', () =>
        listed('pulls').length >= listedBefore + 2 ? true : undefined,
      );
      await waitFor('the scan to finish', async () =>
        (await control.getJob('scan-refs-now')) ? undefined : true,
      );
    } finally {
      await second.close();
    }
    expect(created()).toEqual(before.created);
    expect((await buildJobs()).map((j) => j.id).sort()).toEqual(before.jobs);
    expect(h.github.problems).toEqual([]);
  });

  it('never puts back a head older than one a push brought while it listed', async () => {
    const entry = h.deployer.runtime.index.get('acme/scanned')!;
    const pushed = (commit: string) => ({
      owner: 'acme',
      name: 'scanned',
      cloneUrl: git.cloneUrl('acme', 'scanned'),
      sha: commit,
      ref: 'refs/heads/racy',
      fork: false,
      installationId: INSTALLATION,
    });
    const older = repo.write({ 'hello.txt': 'racy 1\n' }).commit('racy 1');
    repo.push('racy');
    const newer = repo.write({ 'hello.txt': 'racy 2\n' }).commit('racy 2');
    repo.push('racy');
    const auth = (id?: number) => h.deployer.probot.auth(id);
    const listRefs = repoRefs(auth);
    const deps = {
      ...h.deployer.runtime,
      visibleRepos: () => installationRepos(auth),
      // GitHub answers with the branch at `older`; meanwhile both pushes are taken in.
      refs: async (r: Parameters<typeof listRefs>[0]) => {
        const listedNow = await listRefs(r);
        const { runtime } = h.deployer;
        await acceptCommit(runtime, entry, pushed(older));
        await acceptCommit(runtime, entry, pushed(newer), { before: older });
        const racy = { name: 'racy', commit: { sha: older }, protected: false };
        return { ...listedNow, branches: [...listedNow.branches, racy] };
      },
    };
    expect(await scanRefs(deps)).toEqual([]);
    const { store } = h.deployer.runtime;
    expect((await store.heads('acme/scanned'))['refs/heads/racy']).toBe(newer);
    const records = await store.records('acme/scanned', newer);
    expect(records.map((r) => r.status)).not.toContain('cancelled');
    expect(records).toHaveLength(1);
    sha.racy = newer;
    sha.racyOld = older;
  });
});
