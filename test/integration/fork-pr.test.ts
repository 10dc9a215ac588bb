import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeBuildImages } from '../helpers/build-images.js';
import { trackCheckRuns, type CheckRuns } from '../helpers/check-runs.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { INSTALLATION_TOKEN } from '../helpers/github-stand-in.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pullRequestPayload, rerequestPayload } from '../helpers/payloads.js';
import { deleteKeys } from '../helpers/redis-keys.js';
import {
  busybox,
  docker,
  REGISTRY,
  serviceImage,
  SSH_PORT,
  testDeploySettings,
} from '../helpers/swarm.js';
import { DeployScenario, dockerConfig } from '../helpers/deploy-scenario.js';

const POOL = 'linux-x86_64';
const PR = 7;
// Everything a hostile build could try to print: the deployer's own credentials.
const PROBE =
  'cat /root/.docker/config.json /run/secrets/* ~/.ssh/id_* 2>&1; env; ls -la / ; exit 0';

describe('a pull request from a fork that tries to read credentials', () => {
  const id = uniqueName('fork').toLowerCase();
  const stagingRepo = `staging-${id}`;
  const registryPassword = `registry-password-${randomUUID()}`;
  const registryAuth = Buffer.from(`deployer:${registryPassword}`).toString('base64');
  let dockerConfigDir: string;
  let git: GitServer;
  let repo: GitRepo;
  let h: Harness;
  let checks: CheckRuns;
  let sha = '';
  const target = { owner: 'acme', name: 'forked', cloneUrl: '' };

  beforeAll(async () => {
    dockerConfigDir = mkdtempSync(join(tmpdir(), 'deployer-dockercfg-'));
    writeFileSync(
      join(dockerConfigDir, 'config.json'),
      JSON.stringify({ auths: { [REGISTRY]: { auth: registryAuth } } }),
      { mode: 0o600 },
    );
    git = await new GitServer().start();
    repo = git.createRepo('acme', 'forked');
    target.cloneUrl = git.cloneUrl('acme', 'forked');
    h = await startHarness(
      testFlavour({
        stagingRepo: `${REGISTRY}/${stagingRepo}`,
        repos: [
          testRepo('acme/forked', {
            deployments: [{ branch: 'live', target: `${REGISTRY}/acme/${id}:live` }],
          }),
        ],
      }),
      { deploySettings: testDeploySettings(dockerConfigDir) },
    );
    checks = trackCheckRuns(h.github);
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    if (h) {
      removeBuildImages(h, 'acme/forked', [sha]);
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
    rmSync(dockerConfigDir, { recursive: true, force: true });
  });

  /** What must never be printed: the registry password, the SSH key, the installation token. */
  function secrets(): string[] {
    const key = readFileSync(process.env.TEST_SSH_KEY!, 'utf8');
    const keyLines = key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(0);
    return [registryPassword, registryAuth, INSTALLATION_TOKEN, 'PRIVATE KEY', ...keyLines];
  }

  async function jobLogs(): Promise<string> {
    const queue = h.deployer.runtime.queues.build(POOL);
    const logs: string[] = [];
    for (const job of await queue.getJobs()) logs.push(...(await queue.getJobLogs(job.id!)).logs);
    return logs.join('\n');
  }

  /** Nothing staged, nothing to deploy: no `-stage` build, no deploy job, no staging tag. */
  async function expectNothingStaged(): Promise<void> {
    const { queues } = h.deployer.runtime;
    const ids = (await queues.build(POOL).getJobs()).map((j) => j.id!);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.filter((i) => i.endsWith('-stage'))).toEqual([]);
    expect(await queues.deploy.getJobs()).toEqual([]);
    const tags = await fetch(`http://${REGISTRY}/v2/${stagingRepo}/tags/list`);
    expect(tags.status).toBe(404);
    expect(docker('images', '-q', `${REGISTRY}/${stagingRepo}`)).toBe('');
    expect(h.github.requests.filter((r) => r.path.includes('/deployments'))).toEqual([]);
  }

  it('builds it (success) with none of the deployer’s credentials in reach, and stages nothing', async () => {
    repo.write({ busybox }, 0o755);
    repo.write({
      'nonce.txt': randomUUID(), // a fresh layer: the probe runs, not a cached result
      Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY nonce.txt /nonce.txt\nRUN ["/bin/busybox","sh","-c","${PROBE}"]\n`,
    });
    sha = repo.commit('a contribution');
    // As GitHub does: the fork's commit is readable in the base repository at refs/pull/N/head.
    execFileSync('git', ['-C', repo.work, 'push', '-q', 'origin', `HEAD:refs/pull/${PR}/head`]);

    const payload = pullRequestPayload(target, 'opened', PR, sha, true);
    // The fork's branch is called like the deployment branch, and the PR targets it.
    payload.pull_request.head.ref = 'live';
    payload.pull_request.base.ref = 'live';
    expect((await h.send('pull_request', payload)).status).toBe(200);

    const done = await waitFor('the fork build to conclude', () => checks.concluded(sha));
    expect(done.conclusion).toBe('success');
    const [job] = await h.deployer.runtime.queues.build(POOL).getJobs();
    expect(job.data).toMatchObject({ fork: true, ref: `refs/pull/${PR}/head` });
    expect(job.data.stage).toBeUndefined();

    const log = await jobLogs();
    // The probe ran and its output is in the log, so absence below means something.
    expect(log).toContain('/root/.docker/config.json');
    expect(log).toMatch(/PATH=/);
    const written = JSON.stringify(h.github.checkRunWrites().map((r) => r.body));
    for (const secret of secrets()) {
      expect(log).not.toContain(secret);
      expect(written).not.toContain(secret);
    }
    await expectNothingStaged();

    // "Re-run" of the fork's suite: GitHub names the fork's head branch ("live") and lists
    // no pull request for a fork; the rebuild must stay a fork's build.
    const rerun = rerequestPayload(target, 'check_suite', sha, 'live');
    expect((await h.send('check_suite', rerun)).status).toBe(200);
    await waitFor('the re-run to conclude', () =>
      checks.created(sha).length === 2 ? checks.concluded(sha) : undefined,
    );
    expect(checks.concluded(sha)?.conclusion).toBe('success');
    // Built again (a re-run replaces the finished job, and its log) as the same fork build.
    const [again] = await h.deployer.runtime.queues.build(POOL).getJobs();
    expect(again.id).toBe(job.id);
    expect(again.timestamp).toBeGreaterThan(job.timestamp);
    expect(again.data).toMatchObject({ fork: true, ref: `refs/pull/${PR}/head` });
    const relog = await jobLogs();
    expect(relog.match(/^Built sha256:/gm)).toHaveLength(1);
    for (const secret of secrets()) expect(relog).not.toContain(secret);
    await expectNothingStaged();
    expect(h.github.problems).toEqual([]);
  }, 60_000);
});

describe("a fork's pull request whose commit is later pushed to a deployment branch", () => {
  let git: GitServer;
  let s: DeployScenario;
  let h: Harness;
  let checks: CheckRuns;
  let sha = '';

  beforeAll(async () => {
    git = await new GitServer().start();
    s = new DeployScenario(git);
    s.createService();
    h = await startHarness(s.flavour(), {
      deploySettings: testDeploySettings(
        dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` }),
      ),
    });
    checks = trackCheckRuns(h.github);
  });
  afterAll(async () => {
    await h?.close();
    await git?.stop();
    s?.removeService();
    if (h) {
      removeBuildImages(h, `acme/${s.repoName}`, [sha]);
      await deleteKeys(h.env.redisUrl, h.env.prefix);
    }
  });

  it('deploys it: the pull request never marks the commit as a fork’s', async () => {
    sha = s.commit('v1');
    execFileSync('git', ['-C', s.repo.work, 'push', '-q', 'origin', `HEAD:refs/pull/${PR}/head`]);
    const pr = pullRequestPayload(s.where, 'opened', PR, sha, true);
    expect((await h.send('pull_request', pr)).status).toBe(200);
    await waitFor('the fork build to conclude', () => checks.concluded(sha));

    await s.push(h, sha);
    const deploys = h.deployer.runtime.queues.deploy;
    const deployed = await waitFor(
      'the deploy to finish',
      async () => (await deploys.getJobs(['completed', 'failed']))[0],
      90_000,
    );
    expect(deployed.finishedOn && !deployed.failedReason).toBeTruthy();
    const [entry] = await h.deployer.runtime.deploys.history(s.historyKey);
    expect(entry).toMatchObject({ sha, result: 'success' });
    expect(serviceImage(s.service)).toBe(entry.image);
  }, 120_000);
});
