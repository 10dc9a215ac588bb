import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createLogger } from '../observe/logger.js';
import { gitBaseUrl, type DeployerEnv } from '../config/env.js';
import { ConfigError } from '../config/load.js';
import type { RepoEntry } from '../config/repo-index.js';
import type { Arch, Flavour } from '../config/schema.js';
import { createDeployDeps, type DeploySettings } from '../wiring/deploy-deps.js';
import { localDocker } from '../exec/docker/client.js';
import { lsRemote } from '../exec/git.js';
import type { Gates, Level } from '../store/gates.js';
import { pollHeads } from '../jobs/tasks/poll-heads.js';
import { startWorkers, type RunningWorkers } from '../jobs/worker.js';
import { createRuntime, type Runtime } from '../wiring/runtime.js';
import { createBuildDeps } from '../wiring/build-deps.js';
import type { LoginSettings } from '../web/github-login.js';
import { createWebApp, type WebDeps } from '../web/routes.js';
import { reportRuntimeErrors } from '../observe/redis-errors.js';

export interface LocalOptions {
  env: DeployerEnv;
  flavour: Flavour;
  /** `owner/name`: check only this repository. */
  repo?: string;
  /** Operations at or above this level wait for `deployer confirm`. */
  confirm?: Level;
  deploySettings: DeploySettings;
  pollMs: number;
  pools?: Arch[];
  log?: Logger;
  /** Where repositories without a `cloneUrl` are read from (default: DEPLOYER_GIT_BASE_URL…). */
  gitBase?: string;
  /** Serve the web UI here (local mode: on localhost). */
  web?: { port: number; host: string };
  /** GitHub sign-in for the web UI's admin buttons; without it they are not offered. */
  login?: LoginSettings;
}

export interface RunningLocal {
  runtime: Runtime;
  gates: Gates;
  log: Logger;
  /** The web UI's address, when it is served. */
  url?: string;
  close(): Promise<void>;
}

/** Only the chosen repository, so nothing else is polled, built or deployed. */
function only(flavour: Flavour, repo: string | undefined): Flavour {
  if (!repo) return flavour;
  const repos = flavour.repos.filter(
    (r) => `${r.owner}/${r.name}`.toLowerCase() === repo.toLowerCase(),
  );
  if (!repos.length) {
    throw new ConfigError(
      `${repo}: not a repository of flavour ${flavour.name} (see deployer check-config)`,
    );
  }
  return { ...flavour, repos };
}

/**
 * Local mode, the original's `ocurrent-deployer-local`: no GitHub App; deployment
 * branch heads read anonymously with `git ls-remote`; only deployment branches are
 * built and deployed; no Slack, no check runs, no Deployments.
 */
export async function startLocal(opts: LocalOptions): Promise<RunningLocal> {
  const flavour = only(opts.flavour, opts.repo);
  const log = opts.log ?? (await createLogger(process.env, 'deployer-local'));
  const runtime = createRuntime(
    { ...opts.env, confirm: opts.confirm ?? opts.env.confirm },
    flavour,
  );
  const { gates } = runtime;
  reportRuntimeErrors(runtime, opts.env.redisUrl, log);
  const docker = localDocker(opts.env.dockerHost);
  const repoToken = async () => undefined;
  const { deploy, stage } = createDeployDeps({
    settings: { ...opts.deploySettings, slackWebhookFile: undefined, slackTokenFile: undefined },
    runtime,
    docker,
    dockerHost: opts.env.dockerHost,
    workDir: opts.env.workDir,
    log,
    repoToken,
  });
  const base = opts.gitBase ?? gitBaseUrl();
  const cloneUrl = (e: RepoEntry) => e.repo.cloneUrl ?? `${base}/${e.fullName}.git`;
  const workers: RunningWorkers = startWorkers({
    connection: runtime.redis,
    prefix: runtime.queues.prefix,
    pools: opts.pools ?? opts.env.pools,
    log,
    lockMs: opts.env.jobLockMs,
    build: createBuildDeps(runtime, { docker, repoToken, stage }),
    checks: { store: runtime.store, baseUrl: flavour.baseUrl },
    deploy,
    control: {
      'poll-heads': () =>
        pollHeads({
          ...runtime,
          cloneUrl,
          head: (url, branch) => lsRemote(url, `refs/heads/${branch}`),
        }),
    },
  });
  await runtime.queues.schedule('poll-heads', opts.pollMs);
  await gates.level.started(opts.env.confirmAutoReleaseMs);
  let web: Awaited<ReturnType<typeof serveWeb>> | undefined;
  try {
    web = opts.web && (await serveWeb({ ...runtime, log, login: opts.login }, opts.web));
  } catch (err) {
    // A port in use: stop what started, so the process can exit with the error.
    await workers.close();
    await runtime.close();
    throw err;
  }
  log.info(
    {
      flavour: flavour.name,
      repos: flavour.repos.length,
      confirm: (await gates.level.current()) ?? 'none',
      web: web?.url,
    },
    'local mode started',
  );
  return {
    runtime,
    gates,
    log,
    url: web?.url,
    async close() {
      await web?.close();
      await workers.close();
      await runtime.close();
    },
  };
}

async function serveWeb(
  deps: WebDeps,
  at: { port: number; host: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const app = createWebApp({ ...deps, stream: { stopped: () => !server.listening } });
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
  const url = `http://${at.host}:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}
