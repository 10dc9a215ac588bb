import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProbot, type Probot, type ProbotOctokit } from 'probot';
import type { DeployerEnv } from '../config/env.js';
import type { Arch, Flavour } from '../config/schema.js';
import {
  createDeployDeps,
  readDeploySettings,
  type DeploySettings,
} from '../wiring/deploy-deps.js';
import { doctorTask, withDrift } from '../doctor/doctor-task.js';
import { DOCTOR_TASK } from '../doctor/request.js';
import { localDocker } from '../exec/docker/client.js';
import { argResolvers } from '../github/arg-resolvers.js';
import { branchHeads } from '../github/branch-heads.js';
import { resolveArgSources, watchArgSources } from '../jobs/tasks/arg-sources.js';
import { requireWebhookSecret } from '../config/webhook-secret.js';
import { requireAppId } from '../config/app-id.js';
import { catchUp } from '../jobs/tasks/catch-up.js';
import { scanRefs } from '../jobs/tasks/scan-refs.js';
import { installationRepos } from '../github/installation-repos.js';
import { repoRefs } from '../github/repo-refs.js';
import { everyMs, upstreamSchedulerId, upstreamTasks } from '../jobs/tasks/upstream.js';
import { createUpstreamDeps } from '../wiring/upstream-deps.js';
import { installationTokens } from '../github/installation-token.js';
import { startWorkers, type RunningWorkers } from '../jobs/worker.js';
import { Metrics } from '../metrics.js';
import { RedisProbe } from '../observe/redis-probe.js';
import { startStatusServer } from '../observe/status-routes.js';
import { startReceiver } from '../receiver/server.js';
import { allowAccounts } from '../config/allowlist.js';
import { readLoginSettings } from '../web/github-login.js';
import { createRuntime, type Runtime } from '../wiring/runtime.js';
import { createBuildDeps } from '../wiring/build-deps.js';
import { reportRuntimeErrors } from '../observe/redis-errors.js';

export interface StartOptions {
  env: DeployerEnv;
  flavour: Flavour;
  /** Probot's settings (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, GHE_HOST, PORT, HOST, LOG_LEVEL…). */
  probotEnv: NodeJS.ProcessEnv;
  receiver: boolean;
  worker: boolean;
  pools?: Arch[];
  Octokit?: typeof ProbotOctokit;
  /** Default: read from `probotEnv` (DOCKER_CONFIG, DEPLOYER_SSH_KEY, …). */
  deploySettings?: DeploySettings;
}

export interface RunningDeployer {
  probot: Probot;
  metrics: Metrics;
  runtime: Runtime;
  /** The receiver's address, when it runs. */
  url?: string;
  close(): Promise<void>;
}

/** Starts the roles of one process against one flavour: receiver, workers, or both. */
export async function startDeployer(opts: StartOptions): Promise<RunningDeployer> {
  const { env } = opts;
  requireAppId(opts.probotEnv);
  const { flavour, leftOut } = allowAccounts(opts.flavour, env.accountAllowlist);
  const webhookSecret = opts.receiver ? requireWebhookSecret(opts.probotEnv) : '';
  const probotEnv = { ...opts.probotEnv, LOG_LEVEL: opts.probotEnv.LOG_LEVEL || 'info' };
  const probot = createProbot({
    env: opts.receiver ? { ...probotEnv, WEBHOOK_SECRET: webhookSecret } : probotEnv,
    overrides: opts.Octokit ? { Octokit: opts.Octokit } : {},
  });
  await probot.ready(); // Probot 14 sets up its logger and auth asynchronously
  const log = probot.log;
  if (leftOut.length)
    log.warn(
      { repos: leftOut, accounts: env.accountAllowlist },
      'repositories of accounts not on DEPLOYER_ACCOUNT_ALLOWLIST are not served',
    );
  const runtime = createRuntime(env, flavour);
  reportRuntimeErrors(runtime, env.redisUrl, log);

  const redis = new RedisProbe(runtime.redis);
  const metrics = new Metrics({
    redis,
    queues: () => [
      ...runtime.queues.allBuildQueues(),
      runtime.queues.checks,
      runtime.queues.deploy,
    ],
    intakeEntries: () => runtime.queues.intake.backlog(),
  });
  const host = opts.probotEnv.HOST ?? 'localhost';
  // Started first: a worker waiting for Redis at start-up is alive, and not ready.
  const status =
    env.metricsPort === undefined
      ? undefined
      : await startStatusServer(env.metricsPort, host, { metrics, redis });
  if (status)
    log.info(
      { url: `http://${host}:${(status.address() as AddressInfo).port}` },
      'metrics listening',
    );

  let workers: RunningWorkers | undefined;
  if (opts.worker) {
    const pools = opts.pools ?? env.pools;
    const docker = localDocker(env.dockerHost);
    const repoToken = installationTokens(probot);
    const github = (id: number) => probot.auth(id);
    const appAuth = (id?: number) => probot.auth(id);
    const settings = opts.deploySettings ?? readDeploySettings(opts.probotEnv);
    const { deploy, stage, registry } = createDeployDeps({
      settings,
      runtime,
      docker,
      dockerHost: env.dockerHost,
      workDir: env.workDir,
      log,
      repoToken,
      github,
    });
    const resolvers = argResolvers(probot, registry, opts.probotEnv);
    workers = startWorkers({
      connection: runtime.redis,
      prefix: runtime.queues.prefix,
      pools,
      log,
      lockMs: env.jobLockMs,
      buildConcurrency: env.buildsPerPool,
      build: createBuildDeps(runtime, {
        docker,
        repoToken,
        stage,
        args: { store: runtime.args, resolve: (sources) => resolveArgSources(sources, resolvers) },
      }),
      checks: { ...runtime, baseUrl: flavour.baseUrl, github },
      deploy: {
        ...deploy,
        onResult: (service, result) => metrics.deployed(service, result),
      },
      metrics,
      control: {
        'catch-up': () => catchUp({ ...runtime, head: branchHeads(probot) }),
        'scan-refs': () =>
          scanRefs({
            ...runtime,
            visibleRepos: () => installationRepos(appAuth),
            refs: repoRefs(appAuth),
          }),
        'watch-args': () => watchArgSources({ ...runtime, resolvers }),
        [DOCTOR_TASK]: doctorTask({ probot, runtime, settings, log, probotEnv: opts.probotEnv }),
        ...upstreamTasks(createUpstreamDeps(runtime, deploy, registry), flavour.upstreams, log),
      },
    });
    await runtime.queues.schedule('catch-up', env.catchUpMs);
    await runtime.queues.scheduleFromNow('scan-refs', env.scanRefsMs);
    await runtime.queues.schedule('watch-args', env.catchUpMs);
    await runtime.queues.schedule(DOCTOR_TASK, env.catchUpMs);
    for (const u of flavour.upstreams)
      await runtime.queues.schedule(upstreamSchedulerId(u), everyMs(u));
    await runtime.gates.level.started(env.confirmAutoReleaseMs);
    log.info({ flavour: flavour.name, pools, confirm: env.confirm ?? 'none' }, 'worker started');
  }

  let server: Server | undefined;
  let url: string | undefined;
  if (opts.receiver) {
    const port = Number(opts.probotEnv.PORT ?? 3000);
    const web = { ...withDrift(runtime), login: readLoginSettings(opts.probotEnv) };
    server = await startReceiver({
      probot,
      webhookSecret,
      deps: runtime,
      port,
      host,
      metrics,
      redis,
      web,
    });
    url = `http://${host}:${(server.address() as AddressInfo).port}`;
    log.info({ flavour: flavour.name, url }, 'receiver listening');
  }

  return {
    probot,
    metrics,
    runtime,
    url,
    async close() {
      for (const s of [server, status])
        await new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)));
      await workers?.close();
      await runtime.close();
    },
  };
}
