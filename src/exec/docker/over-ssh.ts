import Docker from 'dockerode';
import { sshConnectConfig } from '../ssh/connect-config.js';
import { sshErrorFor } from '../ssh/connection-error.js';
import { describeTarget, type SshTarget } from '../ssh/destination.js';
import type { SshSettings } from '../ssh/settings.js';
import { wrapDial } from './dial.js';
import { limitEngineCalls } from './timeout.js';

/**
 * The engine on `target`, reached over SSH (each request on a new connection) with
 * the host key checked against known_hosts, each request bounded by
 * `settings.commandTimeoutMs`, and connection failures reported as `SshError`s.
 */
export function dockerOverSsh(target: SshTarget, settings: SshSettings): Docker {
  // One config for every connection, so a refused host key can be told apart from
  // other failures (it remembers why it refused) and reported as sshErrorFor words it.
  const config = sshConnectConfig(target, settings);
  const docker = new Docker({
    protocol: 'ssh',
    host: target.host,
    port: target.port,
    username: target.username,
    // docker-modem's `timeout` breaks its SSH transport; ssh2's keepalive ends a
    // connection to a host that stopped answering, and each call has a time limit.
    sshOptions: { ...config, keepaliveInterval: 15_000, keepaliveCountMax: 4 },
  } as Docker.DockerOptions);
  limitEngineCalls(docker, config.callTimeoutMs, describeTarget(target));
  explainConnectionFailures(docker, (err) => sshErrorFor(err, target, settings, config));
  return docker;
}

/**
 * dockerode over SSH fails with ssh2's bare errors ("Host denied (verification failed)",
 * "connect ECONNREFUSED …"), which name neither the host nor what to do, and which a
 * deploy would retry even when only an operator can help (a changed host key).
 * Connection failures (ssh2 errors carry a `level`) become `SshError`s; the engine's own
 * answers (HTTP errors, with a `statusCode`) pass through unchanged.
 */
function explainConnectionFailures(docker: Docker, explain: (err: Error) => Error): void {
  wrapDial(
    docker,
    (dial) => (options, callback) =>
      dial(options, (err, data) => {
        const connection =
          err instanceof Error && typeof (err as { level?: unknown }).level === 'string';
        callback(connection ? explain(err) : err, data);
      }),
  );
}
