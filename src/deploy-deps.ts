import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { positiveInt } from './config/env.js';
import { dockerConfigDir, resolveDockerContext } from './exec/docker-context.js';
import { dockerForEndpoint, type Docker, type EngineAuth } from './exec/docker.js';
import { fetchCommit } from './exec/git.js';
import { isInsecureRegistry, parseImageRef, parseRegistryList } from './exec/image-ref.js';
import { readRegistryCredentials } from './exec/registry-credentials.js';
import { RegistryClient, RegistryError, refusedMessage } from './exec/registry.js';
import { run } from './exec/run.js';
import {
  sshConnectConfig,
  sshErrorFor,
  sshExec,
  sshSettings,
  type SshSettings,
} from './exec/ssh.js';
import type { DeployDeps } from './jobs/deploy.js';
import type { StageDeps } from './jobs/stage.js';
import type { Octokit } from './github/check-runs.js';
import { slackNotifier } from './notify/slack.js';
import { POOL_PLATFORMS } from './plan/deploy-jobs.js';
import type { Runtime } from './runtime.js';
import type { EngineShell } from './targets/target.js';

/** What deploying needs from the environment; secrets stay in the files named here. */
export interface DeploySettings {
  dockerConfigDir: string;
  registryUser?: string;
  registryPasswordFile?: string;
  insecureRegistries: string[];
  slackWebhookFile?: string;
  convergeTimeoutMs: number;
  ssh: SshSettings;
}

export function readDeploySettings(env: NodeJS.ProcessEnv = process.env): DeploySettings {
  return {
    dockerConfigDir: dockerConfigDir(env),
    registryUser: env.DEPLOYER_REGISTRY_USER || undefined,
    registryPasswordFile: env.DEPLOYER_REGISTRY_PASSWORD_FILE || undefined,
    insecureRegistries: parseRegistryList(env.DEPLOYER_INSECURE_REGISTRIES),
    slackWebhookFile: env.DEPLOYER_SLACK_WEBHOOK_FILE || undefined,
    convergeTimeoutMs: positiveInt(
      env.DEPLOYER_CONVERGE_TIMEOUT_MS || '300000',
      'DEPLOYER_CONVERGE_TIMEOUT_MS',
    ),
    ssh: sshSettings(env),
  };
}

export interface DeployWiring {
  settings: DeploySettings;
  runtime: Runtime;
  docker: Docker;
  dockerHost?: string;
  workDir: string;
  log: Logger;
  repoToken: (installationId: number) => Promise<string | undefined>;
  github?: (installationId: number) => Promise<Octokit>;
}

/** Connects the deploy and staging steps to the registry, the engines, git, GitHub and Slack. */
export function createDeployDeps(w: DeployWiring): {
  deploy: DeployDeps;
  stage: StageDeps;
  registry: RegistryClient;
} {
  const { settings, runtime } = w;
  const credentials = (registry: string) =>
    readRegistryCredentials(registry, {
      dockerConfigDir: settings.dockerConfigDir,
      user: settings.registryUser,
      passwordFile: settings.registryPasswordFile,
    });
  const engineAuth = async (image: string): Promise<EngineAuth | undefined> => {
    const registry = parseImageRef(image).registry;
    const creds = await credentials(registry);
    return creds && { username: creds.username, password: creds.password, serveraddress: registry };
  };
  const registry = new RegistryClient({
    credentials,
    insecure: (r) => isInsecureRegistry(r, settings.insecureRegistries),
    dockerConfigFile: join(settings.dockerConfigDir, 'config.json'),
  });
  const deploy: DeployDeps = {
    baseUrl: runtime.flavour.baseUrl,
    index: runtime.index,
    store: runtime.store,
    deploys: runtime.deploys,
    engineAuth,
    manifestList: async (target, images) => {
      const children = images.map((i) => ({
        source: parseImageRef(i.ref),
        platform: POOL_PLATFORMS[i.pool],
      }));
      return (await registry.writeManifestList(parseImageRef(target), children)).digest;
    },
    engine: (context) => {
      const endpoint = resolveDockerContext(context, settings.dockerConfigDir);
      if (endpoint.kind !== 'ssh') {
        const docker = dockerForEndpoint(
          endpoint,
          () => {
            throw new Error('not an SSH endpoint');
          },
          w.dockerHost,
        );
        const shell: EngineShell = (argv, stdin) =>
          run(argv, { input: stdin, env: localDockerEnv(endpoint, w.dockerHost) });
        return { docker, shell };
      }
      // One config for every connection, so a refused host key can be told apart from
      // other failures (it remembers why it refused) and reported as ssh.ts words it.
      const config = sshConnectConfig(endpoint.target, settings.ssh);
      const docker = dockerForEndpoint(endpoint, () => config, w.dockerHost);
      explainConnectionFailures(docker, (err) =>
        sshErrorFor(err, endpoint.target, settings.ssh, config),
      );
      const shell: EngineShell = async (argv, stdin) =>
        (await sshExec(endpoint.target, argv, { settings: settings.ssh, stdin })).stdout;
      return { docker, shell };
    },
    readFile: async (data, path) => {
      const dir = await mkdtemp(join(w.workDir, 'deploy-'));
      try {
        await fetchCommit({
          cloneUrl: data.cloneUrl,
          sha: data.sha,
          ref: `refs/heads/${data.branch}`,
          dir,
          token: await w.repoToken(data.installationId),
        });
        return await readFile(join(dir, path), 'utf8');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    github: w.github,
    notify: slackNotifier(settings.slackWebhookFile, w.log),
    convergeTimeoutMs: settings.convergeTimeoutMs,
    // As long as a worker's hold on a job: a killed worker's service lock lapses as its job does.
    lockTtlMs: runtime.env.jobLockMs,
    registry,
    ssh: settings.ssh,
    unikernelHosts: runtime.flavour.unikernelHosts,
    gates: runtime.gates,
    requestCheckSync: (repo, sha) => runtime.queues.requestCheckSync(repo, sha),
  };
  const stage: StageDeps = {
    docker: w.docker,
    deploys: runtime.deploys,
    queues: runtime.queues,
    stagingRepo: runtime.flavour.stagingRepo,
    engineAuth,
    refused: async (image, status) => {
      const ref = parseImageRef(image);
      const message = refusedMessage({
        registry: ref.registry,
        repository: ref.repository,
        action: 'push',
        status,
        credentials: await credentials(ref.registry),
        dockerConfigFile: join(settings.dockerConfigDir, 'config.json'),
      });
      return new RegistryError(message, {
        registry: ref.registry,
        method: 'PUT',
        path: `/v2/${ref.repository}/manifests/${ref.tag ?? 'latest'}`,
        status,
      });
    },
  };
  return { deploy, stage, registry };
}

/**
 * dockerode over SSH fails with ssh2's bare errors ("Host denied (verification failed)",
 * "connect ECONNREFUSED …"), which name neither the host nor what to do, and which the
 * deploy job would retry even when only an operator can help (a changed host key).
 * Connection failures (ssh2 errors carry a `level`) become `SshError`s; the engine's own
 * answers (HTTP errors, with a `statusCode`) pass through unchanged.
 */
function explainConnectionFailures(docker: Docker, explain: (err: Error) => Error): void {
  type Dial = (options: unknown, callback: (err: unknown, data?: unknown) => void) => unknown;
  const modem = docker.modem as unknown as { dial: Dial };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) =>
    dial(options, (err, data) => {
      const connection =
        err instanceof Error && typeof (err as { level?: unknown }).level === 'string';
      callback(connection ? explain(err) : err, data);
    });
}

function localDockerEnv(
  endpoint: { kind: string; socketPath?: string; host?: string; port?: number },
  dockerHost?: string,
): Record<string, string> {
  if (endpoint.kind === 'unix') return { DOCKER_HOST: `unix://${endpoint.socketPath}` };
  if (endpoint.kind === 'tcp') return { DOCKER_HOST: `tcp://${endpoint.host}:${endpoint.port}` };
  return dockerHost ? { DOCKER_HOST: dockerHost } : {};
}
