import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../config/load.js';
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
  /** With `passwordFile`, used for every registry before `config.json`. */
  user?: string;
  /** A file holding only the password (the original's `/run/secrets/ocurrent-hub`). */
  passwordFile?: string;
}

/** The key `docker login` uses for Docker Hub. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

const configSchema = z.object({
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
 * The credentials for `registry` (as in an `ImageRef`: `docker.io`, `host:port`):
 * `user` + `passwordFile` when both are given, else the `auths` entry of
 * `<dockerConfigDir>/config.json`; undefined when there are none.
 * The password never appears in a log line or in `JSON.stringify` of the result.
 */
export async function readRegistryCredentials(
  registry: string,
  opts: CredentialsOptions,
): Promise<RegistryCredentials | undefined> {
  if (opts.user && opts.passwordFile) {
    const password = (await readText(opts.passwordFile, 'the registry password file')).trim();
    if (!password)
      throw new ConfigError(`${opts.passwordFile}: the registry password file is empty`);
    return redacted({ username: opts.user, password, source: opts.passwordFile });
  }
  return fromDockerConfig(registry, join(opts.dockerConfigDir, 'config.json'));
}

async function fromDockerConfig(
  registry: string,
  file: string,
): Promise<RegistryCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
  const auths = parsed.data.auths ?? {};
  const key =
    Object.keys(auths).find((k) => k === registry) ??
    Object.keys(auths).find((k) => authKeyRegistry(k) === registry);
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
  // An empty entry: `docker login` stored the secret in a credential helper, which we do not run.
  return undefined;
}

/**
 * The registry an `auths` key stands for, as Docker resolves it: no scheme, no path,
 * and Docker Hub's several names (`https://index.docker.io/v1/`) as `docker.io`.
 */
export function authKeyRegistry(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0];
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
