import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDocker } from '../../src/exec/docker/client.js';
import { RegistryClient } from '../../src/exec/registry.js';
import { run } from '../../src/exec/run.js';
import { argResolvers } from '../../src/github/arg-resolvers.js';
import { installationTokens } from '../../src/github/installation-token.js';
import { resolveArgSources, watchArgSources } from '../../src/jobs/tasks/arg-sources.js';
import { buildSteps } from '../../src/jobs/build-steps.js';
import { startWorkers, type RunningWorkers } from '../../src/jobs/worker.js';
import { buildJobId } from '../../src/plan/build-jobs.js';
import { TEST_BASE_URL, testFlavour, testRepo } from '../helpers/flavour.js';
import { GitServer, type GitRepo } from '../helpers/git-server.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';

const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const busybox = readFileSync('/bin/busybox');
const dockerfile =
  'FROM scratch\nCOPY busybox /bin/busybox\nARG LIB_SHA\n' +
  'RUN ["/bin/busybox", "sh", "-c", "echo built with LIB_SHA=$LIB_SHA; echo $LIB_SHA > /lib-sha"]\n';
const newSha = () => randomBytes(20).toString('hex');

describe('build arguments from other repositories (real Redis, dockerd, git over HTTP)', () => {
  let git: GitServer;
  let web: GitRepo;
  let h: Harness;
  let workers: RunningWorkers;
  let libHead = newSha();
  const target = { owner: 'acme', name: 'web', cloneUrl: '' };

  beforeAll(async () => {
    git = await new GitServer().start();
    web = git.createRepo('acme', 'web');
    target.cloneUrl = git.cloneUrl('acme', 'web');
    h = await startHarness(
      testFlavour({
        repos: [
          testRepo('acme/web', {
            options: {
              argsFrom: [{ arg: 'LIB_SHA', head: { repo: 'acme/lib', branch: 'master' } }],
            },
            deployments: [{ branch: 'live', target: `${REGISTRY}/acme/web:live` }],
          }),
        ],
      }),
      { worker: false },
    );
    // The App is installed on acme/lib; its master is whatever `libHead` says.
    h.github.route('GET', /^\/repos\/acme\/lib\/installation$/, () => ({
      status: 200,
      body: { id: 42 },
    }));
    h.github.route('GET', /^\/repos\/acme\/lib\/branches\/master$/, () => ({
      status: 200,
      body: { name: 'master', commit: { sha: libHead } },
    }));
    // Builds run here with the argument wiring (staging is left out: nothing is deployed).
    const { probot, runtime } = h.deployer;
    const resolvers = argResolvers(probot, new RegistryClient(), h.probotEnv);
    workers = startWorkers({
      connection: runtime.redis,
      prefix: runtime.queues.prefix,
      pools: ['linux-x86_64'],
      log: probot.log,
      lockMs: h.env.jobLockMs,
      build: {
        index: runtime.index,
        store: runtime.store,
        queues: runtime.queues,
        docker: localDocker(h.env.dockerHost),
        steps: buildSteps,
        workDir: h.env.workDir,
        repoToken: installationTokens(probot),
        args: { store: runtime.args, resolve: (s) => resolveArgSources(s, resolvers) },
      },
      checks: {
        store: runtime.store,
        baseUrl: TEST_BASE_URL,
        github: (id) => probot.auth(id),
      },
    });
  });
  afterAll(async () => {
    await workers?.close();
    await h?.close();
    await git?.stop();
  });

  const watch = () =>
    watchArgSources({
      ...h.deployer.runtime,
      resolvers: argResolvers(h.deployer.probot, new RegistryClient(), h.probotEnv),
    });
  const queue = () => h.deployer.runtime.queues.build('linux-x86_64');
  /** The job's log once it finished, or undefined while it has not. */
  const finishedLog = (jobId: string) => async () => {
    const job = await queue().getJob(jobId);
    const state = await job?.getState();
    if (state !== 'completed' && state !== 'failed') return undefined;
    const { logs } = await queue().getJobLogs(jobId);
    return { state, log: logs.join('\n'), timestamp: job!.timestamp };
  };

  it('builds with the head of acme/lib, and rebuilds the live head when it moves', async () => {
    web.write({ busybox }, 0o755);
    web.write({ Dockerfile: dockerfile });
    const sha = web.commit('uses lib');
    web.push('live');
    const first = libHead;
    expect((await h.send('push', pushPayload(target, 'live', sha))).status).toBe(200);

    const spec = h.deployer.runtime.index.get('acme/web')!.specs[0];
    const jobId = buildJobId(spec.key, sha, 'linux-x86_64', true);
    const built = await waitFor('the first build', finishedLog(jobId));
    expect(built.state).toBe('completed');
    expect(built.log).toContain(`Using LIB_SHA=${first}`);
    expect(built.log).toContain(`built with LIB_SHA=${first}`);
    expect(await h.deployer.runtime.args.values(spec.key)).toEqual({ LIB_SHA: first });

    // Nothing moved since the build read it.
    expect(await watch()).toEqual([]);

    libHead = newSha();
    expect(await watch()).toEqual([`acme/web@live:${sha.slice(0, 7)} Dockerfile`]);
    const rebuilt = await waitFor('the rebuild', async () => {
      const done = await finishedLog(jobId)();
      return done && done.timestamp > built.timestamp ? done : undefined;
    });
    expect(rebuilt.state).toBe('completed');
    expect(rebuilt.log).toContain(`Using LIB_SHA=${libHead}`);
    expect(rebuilt.log).toContain(`built with LIB_SHA=${libHead}`);
    expect(rebuilt.log).not.toContain(first);
    const job = await queue().getJob(jobId);
    expect(job?.data).toMatchObject({ ref: 'refs/heads/live', stage: true, sha });

    // Unchanged: nothing more is rebuilt.
    expect(await watch()).toEqual([]);
    expect((await queue().getJob(jobId))?.timestamp).toBe(rebuilt.timestamp);
    expect(h.github.problems).toEqual([]);
  });

  it('reads a public repository with git ls-remote where the App is not installed', async () => {
    const lib = git.createRepo('acme', 'public-lib');
    lib.write({ README: 'lib\n' });
    const head = lib.commit('lib');
    lib.push('master');
    const env = { GHE_HOST: git.url.replace(/^http:\/\//, ''), GHE_PROTOCOL: 'http' };
    const resolvers = argResolvers(h.deployer.probot, new RegistryClient(), env);
    expect(await resolvers.head('acme/public-lib', 'master')).toBe(head);
    expect(await resolvers.head('acme/public-lib', 'gone')).toBeUndefined();
    await expect(resolvers.head('acme/absent', 'master')).rejects.toThrow(
      /the App is not installed on acme\/absent and anonymous git ls-remote http:\/\/127\.0\.0\.1:\d+\/acme\/absent\.git failed/,
    );
  });

  it('reads an image digest from its registry', async () => {
    const ctx = mkdtempSync(join(tmpdir(), 'deployer-args-'));
    writeFileSync(join(ctx, 'id.txt'), `${newSha()}\n`);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY id.txt /id.txt\n');
    const image = `${REGISTRY}/args-${newSha().slice(0, 8)}:v1`;
    await run(['docker', 'build', '-q', '-t', image, ctx]);
    await run(['docker', 'push', '-q', image]);
    const repoDigest = (
      await run(['docker', 'image', 'inspect', '--format', '{{index .RepoDigests 0}}', image])
    ).trim();
    const resolvers = argResolvers(h.deployer.probot, new RegistryClient(), {});
    expect(await resolvers.digest(image)).toBe(repoDigest.slice(repoDigest.indexOf('@') + 1));
    expect(await resolvers.digest(`${REGISTRY}/args-absent:v1`)).toBeUndefined();
  });
});
