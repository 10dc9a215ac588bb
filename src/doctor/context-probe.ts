import { resolveDockerContext, type DockerEndpoint } from '../exec/docker-context.js';
import { dockerForEndpoint, type Docker } from '../exec/docker.js';
import { sshConnectConfig, sshErrorFor, type SshSettings } from '../exec/ssh.js';

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
    endpoint = resolveDockerContext(name, s.dockerConfigDir);
  } catch (err) {
    return (err as Error).message;
  }
  if (endpoint.kind !== 'ssh') {
    const docker = dockerForEndpoint(endpoint, notSsh, s.dockerHost);
    return ping(docker, s.timeoutMs, (err) => err);
  }
  const { target } = endpoint;
  let config: ReturnType<typeof sshConnectConfig>;
  try {
    config = sshConnectConfig(target, s.ssh);
  } catch (err) {
    return (err as Error).message;
  }
  const docker = dockerForEndpoint(endpoint, () => config);
  // ssh2's connection failures carry a `level`; the engine's own answers pass as they are.
  return ping(docker, s.timeoutMs, (err) =>
    typeof (err as { level?: unknown }).level === 'string'
      ? sshErrorFor(err, target, s.ssh, config)
      : err,
  );
}

const notSsh = () => {
  throw new Error('not an SSH endpoint');
};

type Pingable = { ping(opts: { abortSignal: AbortSignal }): Promise<unknown> };

async function ping(
  docker: Docker,
  timeoutMs: number,
  explain: (err: unknown) => unknown,
): Promise<string | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // dockerode's typings lack ping's options; it passes `abortSignal` to the request.
    await (docker as unknown as Pingable).ping({ abortSignal: signal });
    return undefined;
  } catch (err) {
    if (signal.aborted) return `the engine did not answer within ${timeoutMs}ms`;
    const why = explain(err);
    return why instanceof Error ? why.message : String(why);
  }
}
