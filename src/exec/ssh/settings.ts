import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config/load.js';

export interface SshSettings {
  /** DEPLOYER_SSH_KEY: tried for every host, after the host's own IdentityFile. */
  privateKeyPath?: string;
  knownHostsPath: string;
  /** TCP connect + handshake + login. */
  connectTimeoutMs: number;
  /**
   * Default limit for a whole call (connect included) when the caller gives none;
   * also the limit of each docker engine request over SSH (a pull included).
   */
  commandTimeoutMs: number;
  /** An OpenSSH client config whose `Host` sections SSH destinations are looked up in. */
  configPath?: string;
  /** ssh-agent's socket (SSH_AUTH_SOCK), used for a host with no key file configured. */
  agentSocket?: string;
  /** OpenSSH's default keys, tried (after the agent) for a host with no key file configured. */
  defaultKeyPaths?: string[];
  /** Home directory, for `~` in the config's IdentityFile. */
  home?: string;
}

/**
 * SSH settings from the environment: `DEPLOYER_SSH_KEY`, `DEPLOYER_KNOWN_HOSTS`
 * (default `~/.ssh/known_hosts`), `DEPLOYER_SSH_CONFIG` (default `~/.ssh/config`
 * when it exists, `none` for no config), `SSH_AUTH_SOCK`, `DEPLOYER_SSH_TIMEOUT_MS`
 * (connect, default 20 s), `DEPLOYER_SSH_COMMAND_TIMEOUT_MS` (a command or engine
 * request, default 10 min). Without a key, a host's IdentityFile, else the agent,
 * else `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` log in.
 */
export function sshSettings(env: NodeJS.ProcessEnv = process.env): SshSettings {
  const home = env.HOME || homedir();
  const tilde = (p: string) => (p.startsWith('~/') ? join(home, p.slice(2)) : p);
  return {
    ...(env.DEPLOYER_SSH_KEY && { privateKeyPath: tilde(env.DEPLOYER_SSH_KEY) }),
    knownHostsPath: tilde(env.DEPLOYER_KNOWN_HOSTS || join(home, '.ssh/known_hosts')),
    connectTimeoutMs: millis(env, 'DEPLOYER_SSH_TIMEOUT_MS', 20_000),
    commandTimeoutMs: millis(env, 'DEPLOYER_SSH_COMMAND_TIMEOUT_MS', 600_000),
    ...sshConfigPath(env.DEPLOYER_SSH_CONFIG, tilde, home),
    ...(env.SSH_AUTH_SOCK && { agentSocket: env.SSH_AUTH_SOCK }),
    defaultKeyPaths: [join(home, '.ssh/id_ed25519'), join(home, '.ssh/id_rsa')],
    home,
  };
}

function sshConfigPath(
  setting: string | undefined,
  tilde: (p: string) => string,
  home: string,
): { configPath?: string } {
  if (setting === 'none') return {};
  if (!setting) {
    const path = join(home, '.ssh/config');
    return existsSync(path) ? { configPath: path } : {};
  }
  const path = tilde(setting);
  if (!existsSync(path))
    throw new ConfigError(
      `DEPLOYER_SSH_CONFIG: no such file "${path}" (set it to none for no file)`,
    );
  return { configPath: path };
}

function millis(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (!text) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(
      `${name}: expected a positive whole number of milliseconds, got "${text}"`,
    );
  return n;
}
