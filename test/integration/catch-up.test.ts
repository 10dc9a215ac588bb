import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unikernel } from '../../src/config/builders.js';
import { branchHeads } from '../../src/github/branch-heads.js';
import { catchUp } from '../../src/jobs/tasks/catch-up.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, type Harness } from '../helpers/harness.js';

describe('catching up missed webhooks', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let head = '';
  const unikernelHead = 'c'.repeat(40);

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'api');
    // Builds are not run here: only what catching up enqueues is looked at.
    h = await startHarness(
      testFlavour({
        repos: [
          testRepo('acme/api', {
            deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/api:live' }],
          }),
          testRepo('acme/www', {
            builds: [
              unikernel('Dockerfile', {
                target: 'hvt',
                deployments: [{ branch: 'next', service: 'www', host: 'root@vmhost.test' }],
              }),
            ],
          }),
          testRepo('acme/elsewhere', {
            deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/x:live' }],
          }),
        ],
      }),
      { worker: false },
    );
    h.github.route('GET', /^\/repos\/acme\/api\/installation$/, () => ({
      status: 200,
      body: { id: 42 },
    }));
    h.github.route('GET', /^\/repos\/acme\/api\/branches\/live$/, () => ({
      status: 200,
      body: { name: 'live', commit: { sha: head } },
    }));
    h.github.route('GET', /^\/repos\/acme\/api$/, () => ({
      status: 200,
      body: { full_name: 'acme/api', clone_url: git.cloneUrl('acme', 'api') },
    }));
    h.github.route('GET', /^\/repos\/acme\/www\/installation$/, () => ({
      status: 200,
      body: { id: 42 },
    }));
    h.github.route('GET', /^\/repos\/acme\/www\/branches\/next$/, () => ({
      status: 200,
      body: { name: 'next', commit: { sha: unikernelHead } },
    }));
    h.github.route('GET', /^\/repos\/acme\/www$/, () => ({
      status: 200,
      body: { full_name: 'acme/www', clone_url: git.cloneUrl('acme', 'www') },
    }));
    // acme/elsewhere: the App is not installed there (GitHub answers 404).
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
  });

  const deps = () => ({ ...h.deployer.runtime, head: branchHeads(h.deployer.probot) });

  it('takes in a deployment branch head that no webhook announced, once', async () => {
    repo.write({ Dockerfile: 'FROM scratch\n' });
    head = repo.commit('pushed while the deployer was down');
    repo.push('live');

    // A unikernel's deployment branch (mirage-www's next) is caught up too.
    expect(await catchUp(deps())).toEqual([
      `acme/api@live:${head.slice(0, 7)}`,
      `acme/www@next:${unikernelHead.slice(0, 7)}`,
    ]);
    const all = await h.deployer.runtime.queues
      .build('linux-x86_64')
      .getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    const unikernelJob = all.find((j) => j.data.sha === unikernelHead);
    expect(unikernelJob?.data).toMatchObject({ ref: 'refs/heads/next', stage: true });
    const jobs = all.filter((j) => j !== unikernelJob);
    expect(jobs.map((j) => j.id)).toEqual([
      expect.stringMatching(new RegExp(`^build-[0-9a-f]{12}-${head}-linux-x86_64-stage$`)),
    ]);
    expect(jobs[0].data).toMatchObject({
      ref: 'refs/heads/live',
      sha: head,
      stage: true,
      installationId: 42,
      fork: false,
    });

    // Known now: a second pass enqueues nothing.
    expect(await catchUp(deps())).toEqual([]);
    expect(h.github.problems).toEqual([]);
  });
});
