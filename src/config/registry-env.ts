import { DOCKER_HUB, parseImageRef } from '../exec/image-ref.js';
import { ConfigError } from './load.js';

/** An account for one registry: a user and a file holding only its password. */
export interface RegistryAccount {
  /** `host[:port]` as image references name it (`docker.io` for Docker Hub). */
  registry: string;
  user: string;
  passwordFile: string;
}

/** How the deployer authenticates to registries, from the environment; secrets stay in files. */
export interface RegistryAuthSettings {
  /**
   * DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE, for DEPLOYER_REGISTRY only;
   * without DEPLOYER_REGISTRY (the older form) `registry` is unset: they are the staging registry's.
   */
  account?: Omit<RegistryAccount, 'registry'> & { registry?: string };
  /** DEPLOYER_REGISTRY_AUTH_FILE: a file in docker's `config.json` form, one `auths` entry per registry. */
  authFile?: string;
  /** DEPLOYER_REGISTRY_TOKEN_HOSTS: token services on other hosts that may receive a registry's credentials. */
  tokenHosts: string[];
}

export function readRegistryAuthSettings(env: NodeJS.ProcessEnv): RegistryAuthSettings {
  const user = env.DEPLOYER_REGISTRY_USER || undefined;
  const passwordFile = env.DEPLOYER_REGISTRY_PASSWORD_FILE || undefined;
  const registry = env.DEPLOYER_REGISTRY || undefined;
  if (!user !== !passwordFile)
    throw new ConfigError(
      'DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE: set both (the user and a file holding only its password) or neither',
    );
  if (registry && !user)
    throw new ConfigError(
      `DEPLOYER_REGISTRY=${registry}: names the registry of DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE; set them too, or unset it`,
    );
  return {
    account:
      user && passwordFile
        ? {
            ...(registry ? { registry: registryName(registry, 'DEPLOYER_REGISTRY') } : {}),
            user,
            passwordFile,
          }
        : undefined,
    authFile: env.DEPLOYER_REGISTRY_AUTH_FILE || undefined,
    tokenHosts: (env.DEPLOYER_REGISTRY_TOKEN_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean)
      .map((h) => tokenHost(h)),
  };
}

/**
 * The account for the environment's user and password file: for DEPLOYER_REGISTRY, else
 * (`assumed`) for the staging registry, where the older form of the settings used them.
 */
export function registryAccount(
  settings: RegistryAuthSettings,
  stagingRegistry: string,
): { account?: RegistryAccount; assumed: boolean } {
  const a = settings.account;
  if (!a) return { assumed: false };
  return {
    account: {
      registry: a.registry ?? stagingRegistry,
      user: a.user,
      passwordFile: a.passwordFile,
    },
    assumed: !a.registry,
  };
}

/**
 * `host[:port]` of a registry as image references name it: Docker Hub's names
 * (`index.docker.io`, `https://index.docker.io/v1/`) are `docker.io`; a scheme or path is dropped.
 */
export function registryName(text: string, source: string): string {
  const host = text
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]
    .toLowerCase();
  let registry: string | undefined;
  try {
    registry = parseImageRef(`${host}/x`).registry;
  } catch {
    registry = undefined;
  }
  if (!host || !registry || (registry === DOCKER_HUB && !isHubName(host)))
    throw new ConfigError(
      `${source}: expected a registry as host[:port] (e.g. ghcr.io, registry.example.com:5000), got "${text}"`,
    );
  return registry;
}

const isHubName = (host: string) =>
  ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host);

/** A DEPLOYER_REGISTRY_TOKEN_HOSTS entry: `host` (any port) or `host:port`, lowercase. */
function tokenHost(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(`https://${text}`);
  } catch {
    url = undefined;
  }
  if (!url || url.host !== text.toLowerCase() || url.username || url.pathname !== '/')
    throw new ConfigError(
      `DEPLOYER_REGISTRY_TOKEN_HOSTS: expected host or host:port of a token service (e.g. auth.example.com), got "${text}"`,
    );
  return text.toLowerCase();
}
