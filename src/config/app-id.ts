import { ConfigError } from './load.js';

/** Probot cannot act as the App without its id: say how to get one rather than fail deep inside. */
export function requireAppId(env: NodeJS.ProcessEnv): void {
  if (!env.APP_ID)
    throw new ConfigError(
      'APP_ID: not set; run `deployer setup` to register the GitHub App and write its settings to .env (or set the id of an existing App)',
    );
}
