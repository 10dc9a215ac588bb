import { resolveDockerContext, type DockerEndpoint } from '../exec/docker/context.js';
import { dockerForEndpoint, type Docker } from '../exec/docker/client.js';
import type { SshSettings } from '../exec/ssh/settings.js';

export interface ProbeSettings {
  dockerConfigDir: string;
  ssh: SshSettings;
  dockerHost?: string;
  /** For the whole probe: SSH login and the engine's answer. */
  timeoutMs: number;
}

/**
 * Why docker context `name` cannot be used now, or undefined when its engine
 * answers a ping. Over SSH the host key must be in known_hosts, exactly as for a
 * deploy: an unknown or changed key is refused before anything is sent.
 */
export async function probeContext(name: string, s: ProbeSettings): Promise<string | undefined> {
  let endpoint: DockerEndpoint;
  try {
    endpoint = resolveDockerContext(name, s.dockerConfigDir, s.ssh);
  } catch (err) {
    return (err as Error).message;
  }
  let docker: Docker;
  try {
    docker = dockerForEndpoint(endpoint, s.ssh, s.dockerHost);
  } catch (err) {
    return (err as Error).message; // an unreadable SSH key, a malformed DOCKER_HOST
  }
  return ping(docker, s.timeoutMs);
}

type Pingable = { ping(opts: { abortSignal: AbortSignal }): Promise<unknown> };

/** Over SSH a connection failure is already an `SshError` saying what to do (see over-ssh.ts). */
async function ping(docker: Docker, timeoutMs: number): Promise<string | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // dockerode's typings lack ping's options; it passes `abortSignal` to the request.
    await (docker as unknown as Pingable).ping({ abortSignal: signal });
    return undefined;
  } catch (err) {
    if (signal.aborted) return `the engine did not answer within ${timeoutMs}ms`;
    return err instanceof Error ? err.message : String(err);
  }
}
