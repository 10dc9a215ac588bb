import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProbot, type Probot, type ProbotOctokit } from 'probot';
import type { DeployerEnv } from './config/env.js';
import type { Arch, Flavour } from './config/schema.js';
import { createDeployDeps, readDeploySettings, type DeploySettings } from './deploy-deps.js';
import { doctorTask, withDrift } from './doctor/doctor-task.js';
import { DOCTOR_TASK } from './doctor/request.js';
import { localDocker } from './exec/docker.js';
import { argResolvers } from './github/arg-resolvers.js';
import { branchHeads } from './github/branch-heads.js';
import { resolveArgSources, watchArgSources } from './jobs/arg-sources.js';
import { catchUp } from './jobs/catch-up.js';
import { everyMs, upstreamSchedulerId, upstreamTasks } from './jobs/upstream.js';
import { createUpstreamDeps } from './upstream-deps.js';
import { installationTokens } from './github/installation-token.js';
import { startWorkers, type RunningWorkers } from './jobs/worker.js';
import { Metrics } from './metrics.js';
import { startReceiver } from './receiver.js';
import { readLoginSettings } from './web/github-login.js';
import { createRuntime, type Runtime } from './runtime.js';
import { ConfigError } from './config/load.js';

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
  const { env, flavour } = opts;
  const webhookSecret = opts.receiver ? requireWebhookSecret(opts.probotEnv) : '';
  const probot = createProbot({
    env: opts.probotEnv,
    overrides: opts.Octokit ? { Octokit: opts.Octokit } : {},
  });
  await probot.ready(); // Probot 14 sets up its logger and auth asynchronously
  const log = probot.log;
  const runtime = createRuntime(env, flavour);
  runtime.redis.on('error', (err) => log.error({ err: err.message }, 'redis connection error'));
  runtime.queues.onError = (err) => log.error({ err: err.message }, 'queue error');

  const metrics = new Metrics(
    () => [...runtime.queues.allBuildQueues(), runtime.queues.checks, runtime.queues.deploy],
    () => runtime.queues.intake.length(),
  );

  let workers: RunningWorkers | undefined;
  if (opts.worker) {
    const pools = opts.pools ?? env.pools;
    const docker = localDocker(env.dockerHost);
    const repoToken = installationTokens(probot);
    const github = (id: number) => probot.auth(id);
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
      build: {
        index: runtime.index,
        store: runtime.store,
        queues: runtime.queues,
        docker,
        workDir: env.workDir,
        repoToken,
        stage,
        buildTimeoutMs: env.buildTimeoutMs,
        gates: runtime.gates,
        args: { store: runtime.args, resolve: (sources) => resolveArgSources(sources, resolvers) },
      },
      checks: { ...runtime, baseUrl: flavour.baseUrl, github },
      deploy: {
        ...deploy,
        onResult: (service, result) => metrics.deployments.inc({ service, result }),
      },
      metrics,
      control: {
        'catch-up': () => catchUp({ ...runtime, head: branchHeads(probot) }),
        'watch-args': () => watchArgSources({ ...runtime, resolvers }),
        [DOCTOR_TASK]: doctorTask({ probot, runtime, settings, log, probotEnv: opts.probotEnv }),
        ...upstreamTasks(createUpstreamDeps(runtime, deploy, registry), flavour.upstreams, log),
      },
    });
    await runtime.queues.schedule('catch-up', env.catchUpMs);
    await runtime.queues.schedule('watch-args', env.catchUpMs);
    await runtime.queues.schedule(DOCTOR_TASK, env.catchUpMs);
    for (const u of flavour.upstreams)
      await runtime.queues.schedule(upstreamSchedulerId(u), everyMs(u));
    log.info({ flavour: flavour.name, pools }, 'worker started');
  }

  let server: Server | undefined;
  let url: string | undefined;
  if (opts.receiver) {
    const port = Number(opts.probotEnv.PORT ?? 3000);
    const host = opts.probotEnv.HOST ?? 'localhost';
    const web = { ...withDrift(runtime), login: readLoginSettings(opts.probotEnv) };
    server = await startReceiver({
      probot,
      webhookSecret,
      deps: runtime,
      port,
      host,
      metrics,
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
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await workers?.close();
      await runtime.close();
    },
  };
}

/** Probot would fall back to a well-known development secret; a receiver must not. */
function requireWebhookSecret(env: NodeJS.ProcessEnv): string {
  const secret = env.WEBHOOK_SECRET;
  if (!secret) {
    throw new ConfigError(
      "WEBHOOK_SECRET: required to receive webhooks (the GitHub App's webhook secret)",
    );
  }
  return secret;
}
