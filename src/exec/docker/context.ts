import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config/load.js';
import { parseSshDestination, type SshConfigSource, type SshTarget } from '../ssh/destination.js';

/** A docker context that cannot be used; the message names it and what to do. */
export class ContextError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ContextError';
  }
}

/** Where a context's engine is. `local` is `default`: DOCKER_HOST or the local socket. */
export type DockerEndpoint =
  | { kind: 'local' }
  | { kind: 'ssh'; target: SshTarget }
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number };

/** `$DOCKER_CONFIG`, else `~/.docker`, as the docker CLI uses. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

// The docker CLI's own rule for context names.
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

interface ContextMeta {
  Name?: unknown;
  Endpoints?: { docker?: { Host?: unknown } };
}

/**
 * Resolves a docker context like the docker CLI: `default` is the local engine;
 * others are read from `<dir>/contexts/meta/<sha256(name)>/meta.json`. An `ssh://`
 * host is looked up in the SSH config `ssh` names, as the `ssh` the docker CLI runs would.
 */
export function resolveDockerContext(
  name: string,
  configDir: string,
  ssh: SshConfigSource = {},
): DockerEndpoint {
  if (name === 'default') return { kind: 'local' };
  if (!CONTEXT_NAME.test(name))
    throw new ContextError(
      `invalid docker context name "${name}": expected ${CONTEXT_NAME.source}`,
    );
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = join(configDir, 'contexts', 'meta', id, 'meta.json');
  let text: string;
  try {
    text = readFileSync(metaFile, 'utf8');
  } catch {
    throw new ContextError(
      `docker context "${name}" not found in ${join(configDir, 'contexts')}: create it with ` +
        `\`docker context create ${name} --docker host=ssh://user@host\` (with DOCKER_CONFIG=${configDir})`,
    );
  }
  let meta: ContextMeta;
  try {
    meta = JSON.parse(text) as ContextMeta;
  } catch (err) {
    throw new ContextError(`${metaFile}: not JSON (${(err as Error).message})`);
  }
  const host = meta?.Endpoints?.docker?.Host;
  if (typeof host !== 'string' || host === '')
    throw new ContextError(`${metaFile}: docker context "${name}" has no Endpoints.docker.Host`);
  if (existsSync(join(configDir, 'contexts', 'tls', id, 'docker')))
    throw new ContextError(
      `docker context "${name}" (${host}) uses TLS certificates, which the deployer does not support: use an ssh:// context`,
    );
  return endpointFor(host, `docker context "${name}" (${metaFile})`, ssh);
}

function endpointFor(host: string, source: string, ssh: SshConfigSource): DockerEndpoint {
  if (host.startsWith('ssh://')) {
    try {
      return { kind: 'ssh', target: parseSshDestination(host, ssh) };
    } catch (err) {
      throw new ContextError(`${source}: ${(err as Error).message}`);
    }
  }
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new ContextError(`${source}: bad socket path in ${host}`);
    return { kind: 'unix', socketPath };
  }
  const tcp = /^tcp:\/\/([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?\/?$/.exec(host);
  if (tcp) {
    const port = Number(tcp[2] ?? 2375);
    if (port < 1 || port > 65535) throw new ContextError(`${source}: bad port in ${host}`);
    return { kind: 'tcp', host: tcp[1].replace(/^\[(.*)\]$/, '$1'), port };
  }
  throw new ContextError(
    `${source}: unsupported docker host "${host}" (expected ssh://, unix:// or tcp://)`,
  );
}
