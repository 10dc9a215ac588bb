import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
import type { RegistryAccount } from '../config/registry-env.js';
import { credentialsFromHelper } from './credential-helper.js';
import { DOCKER_HUB } from './image-ref.js';

/** A user and password for one registry, and the file they came from (named in errors). */
export interface RegistryCredentials {
  username: string;
  password: string;
  /** e.g. `/root/.docker/config.json` or `/run/secrets/ocurrent-hub`. */
  source: string;
}

export interface CredentialsOptions {
  /** `$DOCKER_CONFIG`, usually `~/.docker`; its `config.json` is what `docker login` writes. */
  dockerConfigDir: string;
  /** A user and password file for one registry, used for that registry only, before any file. */
  account?: RegistryAccount;
  /** Another file in `config.json` form (e.g. a mounted secret), read before `config.json`. */
  authFile?: string;
}

const configSchema = z.object({
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  auths: z
    .record(
      z.string(),
      z.object({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
      }),
    )
    .optional(),
});

/**
 * The credentials for `registry` (as in an `ImageRef`: `docker.io`, `host:port`), and
 * for no other: the account when it is that registry's, else what `authFile`, else
 * what `<dockerConfigDir>/config.json` holds for it, read as the docker CLI does (its
 * `credHelpers` entry, else `credsStore`, else its `auths` entry); undefined when
 * there are none. The password never appears in a log line or in `JSON.stringify` of the result.
 */
export async function readRegistryCredentials(
  registry: string,
  opts: CredentialsOptions,
): Promise<RegistryCredentials | undefined> {
  const wanted = authKeyRegistry(registry);
  const { account } = opts;
  if (account && authKeyRegistry(account.registry) === wanted) {
    const password = (await readText(account.passwordFile, 'the registry password file')).trim();
    if (!password)
      throw new ConfigError(`${account.passwordFile}: the registry password file is empty`);
    return redacted({ username: account.user, password, source: account.passwordFile });
  }
  if (opts.authFile) {
    const found = await fromDockerConfig(registry, opts.authFile, { required: true });
    if (found) return found;
  }
  return fromDockerConfig(registry, join(opts.dockerConfigDir, 'config.json'));
}

async function fromDockerConfig(
  registry: string,
  file: string,
  opts: { required?: boolean } = {},
): Promise<RegistryCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !opts.required) return undefined;
    throw new ConfigError(`${file}: cannot read the file: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file}: not valid JSON`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const { credHelpers = {}, credsStore, auths = {} } = parsed.data;
  const helperKey = matchingKey(Object.keys(credHelpers), registry);
  if (helperKey !== undefined)
    return fromHelper(credHelpers[helperKey], registry, `credHelpers.${helperKey} in ${file}`);
  if (credsStore) return fromHelper(credsStore, registry, `credsStore in ${file}`);
  const key = matchingKey(Object.keys(auths), registry);
  if (key === undefined) return undefined;

  const entry = auths[key];
  if (entry.auth) {
    let decoded: string;
    try {
      decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    } catch {
      decoded = '';
    }
    const colon = decoded.indexOf(':');
    if (colon <= 0)
      throw new ConfigError(`${file}: auths.${key}.auth: expected base64 of user:password`);
    return redacted({
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      source: file,
    });
  }
  if (entry.username && entry.password)
    return redacted({ username: entry.username, password: entry.password, source: file });
  return undefined;
}

/** The key naming `registry`: exactly, else by the registry it stands for. */
function matchingKey(keys: string[], registry: string): string | undefined {
  return (
    keys.find((k) => k === registry) ??
    keys.find((k) => authKeyRegistry(k) === authKeyRegistry(registry))
  );
}

async function fromHelper(
  helper: string,
  registry: string,
  where: string,
): Promise<RegistryCredentials | undefined> {
  const found = await credentialsFromHelper(helper, registry, where);
  return (
    found &&
    redacted({
      username: found.username,
      password: found.secret,
      source: `docker-credential-${helper}, ${where}`,
    })
  );
}

/**
 * The registry an `auths` key stands for, as Docker resolves it: no scheme, no path,
 * and Docker Hub's several names (`https://index.docker.io/v1/`) as `docker.io`.
 */
export function authKeyRegistry(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]
    .toLowerCase();
  return ['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(host)
    ? DOCKER_HUB
    : host;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read ${what}: ${(err as Error).message}`);
  }
}

/** Keeps the password out of `JSON.stringify` (pino) and `util.inspect` (console). */
function redacted(creds: RegistryCredentials): RegistryCredentials {
  const shown = () => ({ ...creds, password: '[REDACTED]' });
  Object.defineProperty(creds, 'toJSON', { value: shown, enumerable: false });
  Object.defineProperty(creds, inspect.custom, { value: shown, enumerable: false });
  return creds;
}
