import { join } from 'node:path';
import type { Logger } from 'pino';
import { positiveInt } from '../config/env.js';
import { readRegistryAuthSettings, type RegistryAuthSettings } from '../config/registry-env.js';
import { dockerConfigDir, resolveDockerContext } from '../exec/docker/context.js';
import { dockerForEndpoint, type Docker } from '../exec/docker/client.js';
import type { EngineAuth } from '../exec/docker/images.js';
import { readFileAtCommit } from '../exec/commit-file.js';
import { lsRemote } from '../exec/git.js';
import { parseImageRef, parseRegistryList } from '../exec/image-ref.js';
import { RegistryClient, RegistryError, refusedMessage } from '../exec/registry.js';
import { run } from '../exec/run.js';
import { createRegistryAccess } from './registry-deps.js';
import { sshExec } from '../exec/ssh/exec.js';
import { sshSettings, type SshSettings } from '../exec/ssh/settings.js';
import type { DeployDeps } from '../jobs/deploy-deps.js';
import type { StageDeps } from '../jobs/stage.js';
import type { Octokit } from '../github/check-runs.js';
import { readSlackSettings, type SlackSettings } from '../config/slack-env.js';
import { deployMessages } from '../notify/deploy-messages.js';
import { slackOutlet } from '../notify/slack.js';
import { POOL_PLATFORMS } from '../plan/deploy-jobs.js';
import type { Runtime } from './runtime.js';
import type { EngineShell } from '../targets/target.js';

/** What deploying needs from the environment; secrets stay in the files named here. */
export interface DeploySettings extends SlackSettings {
  dockerConfigDir: string;
  /** Unset: no account from the environment, only `config.json`. */
  registryAuth?: RegistryAuthSettings;
  insecureRegistries: string[];
  convergeTimeoutMs: number;
  ssh: SshSettings;
}

export function readDeploySettings(env: NodeJS.ProcessEnv = process.env): DeploySettings {
  return {
    dockerConfigDir: dockerConfigDir(env),
    registryAuth: readRegistryAuthSettings(env),
    insecureRegistries: parseRegistryList(env.DEPLOYER_INSECURE_REGISTRIES),
    ...readSlackSettings(env),
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
  const { credentials, registry } = createRegistryAccess(
    settings,
    runtime.flavour.stagingRepo,
    w.log,
  );
  const engineAuth = async (image: string): Promise<EngineAuth | undefined> => {
    const registry = parseImageRef(image).registry;
    const creds = await credentials(registry);
    return creds && { username: creds.username, password: creds.password, serveraddress: registry };
  };
  const messages = deployMessages(
    slackOutlet(settings),
    runtime.slackMessages,
    runtime.flavour.baseUrl,
    w.log,
  );
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
      const endpoint = resolveDockerContext(context, settings.dockerConfigDir, settings.ssh);
      const docker = dockerForEndpoint(endpoint, settings.ssh, w.dockerHost);
      const shell: EngineShell =
        endpoint.kind === 'ssh'
          ? async (argv, stdin) =>
              (await sshExec(endpoint.target, argv, { settings: settings.ssh, stdin })).stdout
          : (argv, stdin) =>
              run(argv, { input: stdin, env: localDockerEnv(endpoint, w.dockerHost) });
      return { docker, shell };
    },
    branchHead: async (data) =>
      lsRemote(data.cloneUrl, `refs/heads/${data.branch}`, {
        token: await w.repoToken(data.installationId),
      }),
    readFile: async (data, path) =>
      readFileAtCommit(
        {
          cloneUrl: data.cloneUrl,
          sha: data.sha,
          ref: `refs/heads/${data.branch}`,
          workDir: w.workDir,
          token: await w.repoToken(data.installationId),
        },
        path,
      ),
    github: w.github,
    messages,
    convergeTimeoutMs: settings.convergeTimeoutMs,
    // As long as a worker's hold on a job: a killed worker's service lock lapses as its job does.
    lockTtlMs: runtime.env.jobLockMs,
    registry,
    ssh: settings.ssh,
    unikernelHosts: runtime.flavour.unikernelHosts,
    gates: runtime.gates,
  };
  const stage: StageDeps = {
    docker: w.docker,
    deploys: runtime.deploys,
    queues: runtime.queues,
    stagingRepo: runtime.flavour.stagingRepo,
    engineAuth,
    messages,
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

function localDockerEnv(
  endpoint: { kind: string; socketPath?: string; host?: string; port?: number },
  dockerHost?: string,
): Record<string, string> {
  if (endpoint.kind === 'unix') return { DOCKER_HOST: `unix://${endpoint.socketPath}` };
  if (endpoint.kind === 'tcp') return { DOCKER_HOST: `tcp://${endpoint.host}:${endpoint.port}` };
  return dockerHost ? { DOCKER_HOST: dockerHost } : {};
}
