import Docker from 'dockerode';
import type { SshSettings } from '../ssh/settings.js';
import type { DockerEndpoint } from './context.js';
import { dockerOverSsh } from './over-ssh.js';

export type { Docker };

const REMOTE_IDLE_TIMEOUT_MS = 120_000;

/**
 * The engine a docker context names; over SSH with the host key checked and each
 * request bounded in time (see over-ssh.ts). Throws an `SshError` when the SSH key cannot be read.
 */
export function dockerForEndpoint(
  endpoint: DockerEndpoint,
  ssh: SshSettings,
  dockerHost?: string,
): Docker {
  switch (endpoint.kind) {
    case 'local':
      return localDocker(dockerHost);
    case 'unix':
      return new Docker({ socketPath: endpoint.socketPath });
    case 'tcp':
      return new Docker({
        host: endpoint.host,
        port: endpoint.port,
        protocol: 'http',
        timeout: REMOTE_IDLE_TIMEOUT_MS,
      });
    case 'ssh':
      return dockerOverSsh(endpoint.target, ssh);
  }
}

/** The local engine (DOCKER_HOST or the default socket). */
export function localDocker(dockerHost?: string): Docker {
  if (!dockerHost) return new Docker();
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}
