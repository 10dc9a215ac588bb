import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { branchHeads } from '../../src/github/branch-heads.js';
import { catchUp } from '../../src/jobs/catch-up.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, type Harness } from '../helpers/harness.js';

describe('catching up missed webhooks', () => {
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let head = '';

  beforeAll(async () => {
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'api');
    // Builds are not run here: only what catching up enqueues is looked at.
    h = await startHarness(
      {
        baseUrl: 'http://deployer.test',
        repos: [
          {
            owner: 'acme',
            name: 'api',
            builds: [
              {
                dockerfile: 'Dockerfile',
                deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/api:live' }],
              },
            ],
          },
          {
            owner: 'acme',
            name: 'elsewhere',
            builds: [
              {
                dockerfile: 'Dockerfile',
                deployments: [{ branch: 'live', target: '127.0.0.1:5000/acme/x:live' }],
              },
            ],
          },
        ],
      },
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

    expect(await catchUp(deps())).toEqual([`acme/api@live:${head.slice(0, 7)}`]);
    const jobs = await h.deployer.runtime.queues
      .build('linux-x86_64')
      .getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
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
