import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { dockerConfigDir, resolveDockerContext } from './exec/docker-context.js';
import { dockerForEndpoint, type Docker, type EngineAuth } from './exec/docker.js';
import { fetchCommit } from './exec/git.js';
import { isInsecureRegistry, parseImageRef, parseRegistryList } from './exec/image-ref.js';
import { readRegistryCredentials } from './exec/registry-credentials.js';
import { RegistryClient } from './exec/registry.js';
import { run } from './exec/run.js';
import { sshConnectConfig, sshExec, sshSettings, type SshSettings } from './exec/ssh.js';
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
    convergeTimeoutMs: Number(env.DEPLOYER_CONVERGE_TIMEOUT_MS || 300_000),
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
export function createDeployDeps(w: DeployWiring): { deploy: DeployDeps; stage: StageDeps } {
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
      const docker = dockerForEndpoint(
        endpoint,
        () =>
          sshConnectConfig(
            (endpoint as { target: Parameters<typeof sshConnectConfig>[0] }).target,
            settings.ssh,
          ),
        w.dockerHost,
      );
      const shell: EngineShell =
        endpoint.kind === 'ssh'
          ? async (argv, stdin) =>
              (await sshExec(endpoint.target, argv, { settings: settings.ssh, stdin })).stdout
          : (argv, stdin) =>
              run(argv, { input: stdin, env: localDockerEnv(endpoint, w.dockerHost) });
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
    lockTtlMs: 60_000,
  };
  const stage: StageDeps = {
    docker: w.docker,
    deploys: runtime.deploys,
    queues: runtime.queues,
    stagingRepo: runtime.flavour.stagingRepo,
    engineAuth,
  };
  return { deploy, stage };
}

function localDockerEnv(
  endpoint: { kind: string; socketPath?: string; host?: string; port?: number },
  dockerHost?: string,
): Record<string, string> {
  if (endpoint.kind === 'unix') return { DOCKER_HOST: `unix://${endpoint.socketPath}` };
  if (endpoint.kind === 'tcp') return { DOCKER_HOST: `tcp://${endpoint.host}:${endpoint.port}` };
  return dockerHost ? { DOCKER_HOST: dockerHost } : {};
}
