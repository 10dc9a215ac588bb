import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploySettings } from '../../src/wiring/deploy-deps.js';
import { parseImageRef } from '../../src/exec/image-ref.js';
import { RegistryClient } from '../../src/exec/registry.js';
import type { DeployJobData } from '../../src/plan/deploy-jobs.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, uniqueName, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload, type RepoRef } from '../helpers/payloads.js';
import {
  busybox,
  createService,
  docker,
  pushInitialImage,
  REGISTRY,
  runningTasks,
  serviceImage,
  SSH_PORT,
  testDeploySettings,
} from '../helpers/swarm.js';

const AUTH_REGISTRY = process.env.TEST_AUTH_REGISTRY ?? '127.0.0.1:5001';
const AUTH_USER = process.env.TEST_AUTH_REGISTRY_USER ?? 'deployer';
const AUTH_PASSWORD = process.env.TEST_AUTH_REGISTRY_PASSWORD ?? 'deployer-test-password';
const CLOSED_PORT = 2299;

type CheckRun = {
  status?: string;
  conclusion?: string;
  output?: { title?: string; summary?: string; text?: string };
};

const dockerfile = (version: string, cmd = '["/bin/busybox", "sleep", "3600"]') =>
  `FROM scratch\nCOPY busybox /bin/busybox\nCOPY version.txt /version.txt\nENV V=${version}\nCMD ${cmd}\n`;

/** A DOCKER_CONFIG holding the docker contexts given (name → ssh:// URL), made by the docker CLI. */
function dockerConfig(contexts: Record<string, string>, auths?: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-dockercfg-'));
  for (const [name, host] of Object.entries(contexts))
    execFileSync('docker', ['context', 'create', name, '--docker', `host=${host}`], {
      env: { ...process.env, DOCKER_CONFIG: dir },
      stdio: 'ignore',
    });
  if (auths) {
    const config = {
      auths: Object.fromEntries(
        Object.entries(auths).map(([registry, userPassword]) => [
          registry,
          { auth: Buffer.from(userPassword).toString('base64') },
        ]),
      ),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  }
  return dir;
}

/** What GitHub was told about deployments: each one's sha and the states of its statuses, in order. */
interface DeploymentLog {
  deployments: { id: number; sha: string; at: number }[];
  statuses: { id: number; sha: string; state: string; description: string; at: number }[];
}

/** One deployment branch → one Swarm service, on its own repository, flavour and harness. */
class Scenario {
  readonly id = uniqueName('f').toLowerCase();
  readonly service = `svc-${this.id}`;
  readonly repoName = `web-${this.id}`;
  readonly where: RepoRef;
  readonly target: string;
  readonly repo: GitRepo;
  readonly log: DeploymentLog = { deployments: [], statuses: [] };
  h!: Harness;
  /** What `docker service inspect` shows before any deploy. */
  initialImage = '';

  constructor(
    git: GitServer,
    private readonly opts: {
      context: string;
      settings: DeploySettings;
      stagingRegistry?: string;
      targetRegistry?: string;
    },
  ) {
    this.repo = git.createRepo('acme', this.repoName);
    this.where = {
      owner: 'acme',
      name: this.repoName,
      cloneUrl: git.cloneUrl('acme', this.repoName),
    };
    this.target = `${opts.targetRegistry ?? REGISTRY}/acme/${this.id}:live`;
  }

  get historyKey(): string {
    return `${this.opts.context}/${this.service}`;
  }

  async start(): Promise<this> {
    createService(this.service, pushInitialImage(`acme/${this.id}-initial`));
    this.initialImage = serviceImage(this.service);
    this.h = await startHarness(
      testFlavour({
        stagingRepo: `${this.opts.stagingRegistry ?? REGISTRY}/staging-${this.id}`,
        repos: [
          testRepo(`acme/${this.repoName}`, {
            deployments: [
              {
                branch: 'live',
                target: this.target,
                services: [
                  { name: this.service, context: this.opts.context, uri: 'web.example.org' },
                ],
              },
            ],
          }),
        ],
      }),
      { deploySettings: this.opts.settings },
    );
    // Deployment ids → commits, so statuses can be told apart per commit.
    let next = 90_000;
    const github = this.h.github;
    github.route('POST', /^\/repos\/[^/]+\/[^/]+\/deployments$/, (req) => {
      const body = req.body as { ref: string };
      const id = next++;
      this.log.deployments.push({ id, sha: body.ref, at: github.requests.length });
      return { status: 201, body: { id, ...body } };
    });
    github.route('POST', /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/, (req, [id]) => {
      const body = req.body as { state: string; description: string };
      const sha = this.log.deployments.find((d) => d.id === Number(id))?.sha ?? '?';
      this.log.statuses.push({
        id: Number(id),
        sha,
        state: body.state,
        description: body.description,
        at: github.requests.length,
      });
      return { status: 201, body: { id: next++, deployment_id: Number(id), ...body } };
    });
    return this;
  }

  /** Commits a Dockerfile for `version` (with `cmd`), pushes it to `live` and sends the webhook. */
  async push(version: string, cmd?: string, before?: string): Promise<string> {
    this.repo.write({ busybox }, 0o755);
    this.repo.write({ 'version.txt': `${version}\n`, Dockerfile: dockerfile(version, cmd) });
    const sha = this.repo.commit(version);
    this.repo.push('live');
    const res = await this.h.send('push', pushPayload(this.where, 'live', sha, before));
    expect(res.status).toBe(200);
    return sha;
  }

  async deployJobs(): Promise<Job<DeployJobData>[]> {
    return this.h.deployer.runtime.queues.deploy.getJobs([
      'active',
      'waiting',
      'delayed',
      'completed',
      'failed',
    ]);
  }

  async history() {
    return this.h.deployer.runtime.deploys.history(this.historyKey);
  }

  /** The latest state GitHub was given for this repository's `deployability` check run. */
  checkRun(): CheckRun | undefined {
    return this.h.github
      .checkRunWrites()
      .filter((r) => r.path.startsWith(`/repos/acme/${this.repoName}/`))
      .map((r) => r.body as CheckRun)
      .at(-1);
  }

  /** Waits for the check run's summary to tell the deploy's state, and gives the run. */
  untilCheckRunSays(text: string): Promise<CheckRun> {
    return waitFor(`the check run to say ${text}`, () => {
      const run = this.checkRun();
      return run?.output?.summary?.includes(text) ? run : undefined;
    });
  }

  /** The service is as it was: same spec image, and its tasks run that image. */
  expectUntouched(): void {
    expect(serviceImage(this.service)).toBe(this.initialImage);
    const tasks = runningTasks(this.service);
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) expect(t.image).toBe(this.initialImage);
  }

  async close(): Promise<void> {
    await this.h?.close();
    try {
      docker('service', 'rm', this.service);
    } catch {
      // already gone
    }
  }
}

/** A known_hosts file whose key for the test sshd is some other host's. */
function wrongKnownHosts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-kh-'));
  const key = join(dir, 'other');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const file = join(dir, 'known_hosts');
  writeFileSync(file, `[127.0.0.1]:${SSH_PORT} ${pub}\n`);
  return file;
}

/** The sha256 of the `/version.txt` the service's running container holds. */
function runningVersion(service: string): string {
  const ids = docker(
    'ps',
    '-q',
    '--filter',
    `label=com.docker.swarm.service.name=${service}`,
  ).split('\n');
  expect(ids.filter(Boolean)).toHaveLength(1);
  return docker('exec', ids[0], '/bin/busybox', 'cat', '/version.txt');
}

describe('deploy failures', () => {
  let git: GitServer;
  const scenarios: Scenario[] = [];
  const scenario = async (opts: ConstructorParameters<typeof Scenario>[1]) => {
    const s = new Scenario(git, opts);
    scenarios.push(s);
    return s.start();
  };

  beforeAll(async () => {
    git = await new GitServer().start();
  });
  afterAll(async () => {
    for (const s of scenarios) await s.close();
    await git?.stop();
  });

  it('sshd down: the first attempt fails fast saying it cannot connect; the service is untouched', async () => {
    const s = await scenario({
      context: 'downhost',
      settings: testDeploySettings(
        dockerConfig({ downhost: `ssh://root@127.0.0.1:${CLOSED_PORT}` }),
      ),
    });
    const started = Date.now();
    const sha = await s.push('v1');

    const failure = await waitFor(
      'the failure recorded in the service history',
      async () => (await s.history()).find((e) => e.sha === sha && e.result === 'failure'),
      90_000,
    );
    expect(failure.error).toMatch(
      new RegExp(`cannot connect to 127\\.0\\.0\\.1:${CLOSED_PORT}: connection refused`),
    );
    // The deploy job failed its first attempt for that reason, and is retried with backoff.
    const job = await waitFor('the deploy job after its first attempt', async () => {
      const [j] = await s.deployJobs();
      return j && j.attemptsMade >= 1 ? j : undefined;
    });
    expect(job.data.sha).toBe(sha);
    expect(job.failedReason).toMatch(/cannot connect to 127\.0\.0\.1:2299/);
    expect(await job.getState()).toBe('delayed');
    // The deployment GitHub saw ends in failure with the same reason.
    const status = await waitFor('a failure deployment status', () =>
      s.log.statuses.find((st) => st.state === 'failure'),
    );
    expect(status.sha).toBe(sha);
    expect(status.description).toMatch(/cannot connect to 127\.0\.0\.1:2299/);
    expect(s.log.statuses.some((st) => st.state === 'success')).toBe(false);
    expect(Date.now() - started).toBeLessThan(60_000);
    s.expectUntouched();
    expect(s.h.github.problems).toEqual([]);
  }, 120_000);

  it('host key changed: refused naming the host and known_hosts; no retry; service untouched', async () => {
    const knownHosts = wrongKnownHosts();
    const base = testDeploySettings(dockerConfig({ keyhost: `ssh://root@127.0.0.1:${SSH_PORT}` }));
    const s = await scenario({
      context: 'keyhost',
      settings: { ...base, ssh: { ...base.ssh, knownHostsPath: knownHosts } },
    });
    const sha = await s.push('v1');

    const job = await waitFor(
      'the deploy job to fail for good',
      async () => {
        const [j] = await s.deployJobs();
        return j && (await j.getState()) === 'failed' ? j : undefined;
      },
      90_000,
    );
    const message = `host key of 127.0.0.1:${SSH_PORT} does not match ${knownHosts}`;
    expect(job.data.sha).toBe(sha);
    expect(job.failedReason).toContain(message);
    expect(job.attemptsMade).toBe(1); // not retried: an operator must act
    const [entry] = await s.history();
    expect(entry).toMatchObject({ sha, result: 'failure' });
    expect(entry.error).toContain(message);
    const status = s.log.statuses.find((st) => st.state === 'failure');
    expect(status?.description).toContain('host key of 127.0.0.1');
    // The maintainer reads why on the commit's check run; its conclusion stays the build's.
    const run = await s.untilCheckRunSays(`| \` ${s.service} \` | ❌ failed: \``);
    expect(run.output?.summary).toContain(message);
    expect(run.conclusion).toBe('success');
    s.expectUntouched();
  }, 120_000);

  it('registry refuses credentials: the staging push fails naming what to provide; nothing is deployed', async () => {
    const s = await scenario({
      context: 'testhost',
      stagingRegistry: AUTH_REGISTRY,
      settings: testDeploySettings(dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` })),
    });
    const sha = await s.push('v1');

    const check = await waitFor(
      'the check run to conclude',
      () =>
        s.h.github
          .checkRunWrites()
          .map((r) => r.body as CheckRun)
          .find((b) => b.status === 'completed'),
      90_000,
    );
    expect(check.conclusion).toBe('failure');
    const text = check.output?.text ?? '';
    expect(text).toContain(`${AUTH_REGISTRY} refused the push`);
    expect(text).toContain(`no credentials for ${AUTH_REGISTRY}`);
    expect(text).toContain('config.json');
    expect(text).toMatch(/DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE/);
    // Failed once, for good: a refusal is not retried.
    const [record] = await s.h.deployer.runtime.store.records(
      s.where.owner + '/' + s.repoName,
      sha,
    );
    expect(record).toMatchObject({ status: 'failure' });
    const build = await waitFor('the build job to fail for good', async () => {
      const j = await s.h.deployer.runtime.queues.build('linux-x86_64').getJob(record.jobId);
      return j && (await j.getState()) === 'failed' ? j : undefined;
    });
    expect(build.attemptsMade).toBe(1);
    expect(build.failedReason).toContain(`${AUTH_REGISTRY} refused the push (401)`);
    expect(await s.deployJobs()).toEqual([]);
    expect(s.log.deployments).toEqual([]);
    s.expectUntouched();
  }, 120_000);

  it('with credentials in DOCKER_CONFIG the same registry works end to end', async () => {
    const s = await scenario({
      context: 'testhost',
      stagingRegistry: AUTH_REGISTRY,
      targetRegistry: AUTH_REGISTRY,
      settings: testDeploySettings(
        dockerConfig(
          { testhost: `ssh://root@127.0.0.1:${SSH_PORT}` },
          { [AUTH_REGISTRY]: `${AUTH_USER}:${AUTH_PASSWORD}` },
        ),
      ),
    });
    const sha = await s.push('v1');

    const success = await waitFor(
      'a successful deployment status',
      () => s.log.statuses.find((st) => st.state === 'success'),
      120_000,
    );
    expect(success.sha).toBe(sha);
    const { digest } = await new RegistryClient({
      credentials: () => ({ username: AUTH_USER, password: AUTH_PASSWORD }),
    }).headManifest(parseImageRef(s.target));
    const image = `${s.target}@${digest}`;
    expect(serviceImage(s.service)).toBe(image);
    await waitFor('every task on the new image', () => {
      const tasks = runningTasks(s.service);
      return tasks.length > 0 && tasks.every((t) => t.image === image && t.state === 'Running')
        ? true
        : undefined;
    });
    expect(runningVersion(s.service)).toBe('v1');
    expect((await s.history())[0]).toMatchObject({ sha, digest, result: 'success' });
    const run = await s.untilCheckRunSays(`| \` ${s.service} \` | ✅ deployed \` ${digest} \` |`);
    expect(run.conclusion).toBe('success');
  }, 150_000);

  it('an image that fails to start is rolled back and reported with Docker’s reason', async () => {
    const s = await scenario({
      context: 'testhost',
      settings: testDeploySettings(dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` })),
    });
    const sha = await s.push('broken', '["/bin/busybox", "false"]');

    const failure = await waitFor(
      'a failure deployment status',
      () => s.log.statuses.find((st) => st.state === 'failure'),
      120_000,
    );
    expect(failure.sha).toBe(sha);
    const [entry] = await s.history();
    expect(entry).toMatchObject({ sha, result: 'failure' });
    // Docker's own words: the update paused on a task that exited 1; then the rollback.
    expect(entry.error).toMatch(
      new RegExp(
        `^Deploy failed: ${s.service}: update paused due to failure .*non-zero exit \\(1\\).*\\(rolled back\\)$`,
      ),
    );
    expect(failure.description).toBe(entry.error!.slice(0, 140));
    // Docker's rollback finishes on its own; the service ends where it was.
    await waitFor(
      'the service back on its previous image',
      () => {
        if (serviceImage(s.service) !== s.initialImage) return undefined;
        const tasks = runningTasks(s.service);
        return tasks.length > 0 &&
          tasks.every((t) => t.image === s.initialImage && t.state === 'Running')
          ? true
          : undefined;
      },
      90_000,
    );
    const job = await waitFor('the deploy job to finish', async () => {
      const [j] = await s.deployJobs();
      return j && (await j.getState()) === 'failed' ? j : undefined;
    });
    expect(job.attemptsMade).toBe(1);
    expect(s.log.statuses.some((st) => st.state === 'success')).toBe(false);
  }, 180_000);

  it('a second push while a deploy runs: B is deployed once, A never after B', async () => {
    const s = await scenario({
      context: 'testhost',
      settings: testDeploySettings(dockerConfig({ testhost: `ssh://root@127.0.0.1:${SSH_PORT}` })),
    });
    const a = await s.push('A');
    // B comes while A's deploy runs: its Deployment exists, its service update is under way.
    await waitFor('A’s deploy to start', () => s.log.deployments.find((d) => d.sha === a), 90_000);
    const b = await s.push('B', undefined, a);

    await waitFor(
      'B deployed',
      () => s.log.statuses.find((st) => st.sha === b && st.state === 'success'),
      150_000,
    );
    // Let anything still queued for A run out before judging the order.
    await waitFor('every deploy job to finish', async () => {
      const jobs = await s.deployJobs();
      const states = await Promise.all(jobs.map((j) => j.getState()));
      return states.every((st) => st === 'completed' || st === 'failed') ? true : undefined;
    });

    const bSuccesses = s.log.statuses.filter((st) => st.sha === b && st.state === 'success');
    expect(bSuccesses).toHaveLength(1);
    expect(s.log.deployments.filter((d) => d.sha === b)).toHaveLength(1);
    const bStart = s.log.deployments.find((d) => d.sha === b)!.at;
    for (const st of s.log.statuses.filter((x) => x.sha === a)) expect(st.at).toBeLessThan(bStart);
    for (const d of s.log.deployments.filter((x) => x.sha === a)) expect(d.at).toBeLessThan(bStart);
    expect(s.log.statuses.some((st) => st.state === 'failure')).toBe(false);

    const history = await s.history();
    const bEntry = history.find((e) => e.sha === b && e.result === 'success')!;
    expect(bEntry).toBeDefined();
    expect(history[0]).toBe(history.find((e) => e.sha === b)); // nothing after B
    expect(serviceImage(s.service)).toBe(bEntry.image);
    const tasks = runningTasks(s.service);
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) expect(t).toEqual({ image: bEntry.image, state: 'Running' });
    expect(runningVersion(s.service)).toBe('B');
  }, 200_000);
});
