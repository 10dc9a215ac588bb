import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import SSHConfig from 'ssh-config';
import { ConfigError } from '../../config/load.js';

/** What an OpenSSH client config says about one host name (an alias, usually). */
export interface HostConfig {
  hostName?: string;
  port?: number;
  user?: string;
  /** With `~`, `%d` (home), `%h` (host name) and `%%` expanded, in the order the config lists them. */
  identityFiles: string[];
}

// Options that would make OpenSSH reach the host another way than a direct connection.
const UNSUPPORTED = ['proxyjump', 'proxycommand'];

/**
 * What `configPath` (read at each call, so edits apply to the next connection) gives
 * `alias` from its `Host` sections (patterns, `!` negations) and top-level lines, the
 * first value of each option winning as in ssh_config(5). `Match exec` lines are
 * never run. Only HostName, Port, User and IdentityFile are used; a host that needs
 * ProxyJump or ProxyCommand is refused rather than reached directly.
 */
export function hostConfig(alias: string, configPath: string, home = homedir()): HostConfig {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    throw new ConfigError(`${configPath}: cannot read the SSH config: ${(err as Error).message}`);
  }
  let computed: Record<string, string | string[]>;
  try {
    computed = SSHConfig.parse(text).compute(alias, { ignoreCase: true, matchExec: false });
  } catch (err) {
    throw new ConfigError(`${configPath}: cannot parse the SSH config: ${(err as Error).message}`);
  }
  const one = (name: string): string | undefined => {
    const value = computed[name];
    return Array.isArray(value) ? value[0] : value;
  };
  for (const name of UNSUPPORTED) {
    const value = one(name);
    if (value && value.toLowerCase() !== 'none')
      throw new ConfigError(
        `${configPath}: host ${alias} is reached through ${name === 'proxyjump' ? 'ProxyJump' : 'ProxyCommand'}, which the deployer does not support`,
      );
  }
  const hostName = one('hostname')?.replace(/%(%|h)/g, (_, t: string) => (t === 'h' ? alias : '%'));
  const portText = one('port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535))
    throw new ConfigError(`${configPath}: host ${alias}: bad Port "${portText}"`);
  const user = one('user');
  const files = computed.identityfile;
  const expand = (file: string) =>
    file
      .replace(/^~(?=\/|$)/, home)
      .replace(/%(%|d|h)/g, (_, t: string) =>
        t === '%' ? '%' : t === 'd' ? home : (hostName ?? alias),
      );
  return {
    ...(hostName && { hostName }),
    ...(port !== undefined && { port }),
    ...(user && { user }),
    identityFiles: (Array.isArray(files) ? files : files ? [files] : [])
      .filter((f) => f.toLowerCase() !== 'none')
      .map(expand),
  };
}
