import type { ConnectConfig } from 'ssh2';
import type { SshTarget } from './destination.js';
import { hostKeyPolicy } from './host-key.js';
import { identitiesFor } from './identities.js';
import type { SshSettings } from './settings.js';

/**
 * An ssh2 config that also says why the last host key it saw was refused, what to
 * say when the login is refused, and how long one call over such a connection may
 * take (a docker engine request).
 */
export type SshConnectConfig = ConnectConfig & {
  hostKeyProblem: () => string | undefined;
  loginRefused: string;
  callTimeoutMs: number;
};

/**
 * The ssh2 `ConnectConfig` for a target (also dockerode's `sshOptions`): key or agent
 * auth (see identities.ts), and a host key check against known_hosts that refuses
 * unknown and changed keys before anything is sent to the host.
 */
export function sshConnectConfig(target: SshTarget, settings: SshSettings): SshConnectConfig {
  const identities = identitiesFor(target, settings);
  const hostKey = hostKeyPolicy(target, settings.knownHostsPath, settings.connectTimeoutMs);
  return {
    host: target.host,
    port: target.port,
    username: target.username,
    authHandler: identities.methods,
    readyTimeout: settings.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier: hostKey.hostVerifier,
    ...(hostKey.serverHostKey && { algorithms: { serverHostKey: hostKey.serverHostKey } }),
    hostKeyProblem: hostKey.problem,
    loginRefused: identities.loginRefused,
    callTimeoutMs: settings.commandTimeoutMs,
  };
}
