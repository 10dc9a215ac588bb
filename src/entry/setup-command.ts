import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { githubApiUrl, positiveInt, readEnv } from '../config/env.js';
import { resolveFlavour } from '../config/flavour.js';
import { ConfigError } from '../config/load.js';
import { startSetup } from './setup.js';

export interface SetupCommandOptions {
  url?: string;
  org?: string;
  name?: string;
  port: string;
  envPath: string;
  manifest?: string;
  flavour?: string;
}

/** Probot's webhook path, unless WEBHOOK_PATH says otherwise. */
const DEFAULT_WEBHOOK_PATH = '/api/github/webhooks';

/** `deployer setup`: serves the registration page until the App is registered, then says how to install it. */
export async function runSetup(
  opts: SetupCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const flavour = resolveFlavour(
    readEnv(opts.flavour ? { ...env, DEPLOYER_FLAVOUR: opts.flavour } : env),
  );
  const publicUrl = opts.url ?? flavour.baseUrl;
  if (!/^https?:\/\/[^/]/.test(publicUrl))
    throw new ConfigError(
      `--url: expected the receiver's public http(s) address, got "${publicUrl}"`,
    );
  const githubHost = env.GHE_HOST || 'github.com';
  const setup = await startSetup({
    appYml: opts.manifest ?? defaultAppYml(),
    envFile: opts.envPath,
    publicUrl,
    webhookPath: env.WEBHOOK_PATH || DEFAULT_WEBHOOK_PATH,
    github: { gheHost: env.GHE_HOST || undefined, gheProtocol: env.GHE_PROTOCOL || undefined },
    apiUrl: githubApiUrl(env),
    org: opts.org,
    name: opts.name,
    host: '127.0.0.1',
    port: positiveInt(opts.port, '--port'),
    flavour: { name: flavour.name, repos: flavour.repos.map((r) => `${r.owner}/${r.name}`) },
  });
  console.log(`Open ${setup.url} in a browser to register the GitHub App on ${githubHost}`);
  const { app, installUrl, written, keyFile } = await setup.registered;
  await setup.close();
  console.log(`Registered ${app.name} (App id ${app.id}); key in ${keyFile}`);
  console.log(`Wrote ${written.join(', ')} to ${resolve(opts.envPath)}`);
  console.log(`Install it on the repositories of flavour ${flavour.name}: ${installUrl}`);
}

/** `app.yml` in the working directory, else the one beside the deployer's package.json. */
function defaultAppYml(): string {
  if (existsSync('app.yml')) return 'app.yml';
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'app.yml');
}
