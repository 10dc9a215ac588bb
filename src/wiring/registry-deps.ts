import { join } from 'node:path';
import type { Logger } from 'pino';
import { registryAccount, type RegistryAuthSettings } from '../config/registry-env.js';
import { isInsecureRegistry, parseImageRef } from '../exec/image-ref.js';
import { readRegistryCredentials, type RegistryCredentials } from '../exec/registry-credentials.js';
import { RegistryClient } from '../exec/registry.js';

export interface RegistrySettings {
  dockerConfigDir: string;
  /** Unset: no account from the environment, only `config.json`. */
  registryAuth?: RegistryAuthSettings;
  insecureRegistries: string[];
}

/**
 * The credentials of each registry, and the client that uses them, from the settings.
 * The environment's account without DEPLOYER_REGISTRY is the staging registry's
 * (`stagingRepo`), as a start-up log line says.
 */
export function createRegistryAccess(
  settings: RegistrySettings,
  stagingRepo: string,
  log: Logger,
  opts: { fetch?: typeof fetch } = {},
): {
  credentials: (registry: string) => Promise<RegistryCredentials | undefined>;
  registry: RegistryClient;
} {
  const auth = settings.registryAuth ?? { tokenHosts: [] };
  const { account, assumed } = registryAccount(auth, parseImageRef(stagingRepo).registry);
  if (assumed && account)
    log.info(
      { registry: account.registry },
      'DEPLOYER_REGISTRY is unset: DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE are used for the staging registry only',
    );
  const credentials = (registry: string) =>
    readRegistryCredentials(registry, {
      dockerConfigDir: settings.dockerConfigDir,
      account,
      authFile: auth.authFile,
    });
  const registry = new RegistryClient({
    credentials,
    insecure: (r) => isInsecureRegistry(r, settings.insecureRegistries),
    tokenHosts: auth.tokenHosts,
    dockerConfigFile: join(settings.dockerConfigDir, 'config.json'),
    fetch: opts.fetch,
  });
  return { credentials, registry };
}
