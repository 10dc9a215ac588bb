import { ConfigError } from '../../config/load.js';
import { hostConfig } from './ssh-config.js';

export interface SshTarget {
  username: string;
  host: string;
  port: number;
  /** The host's IdentityFile keys from the SSH config, tried before DEPLOYER_SSH_KEY. */
  identityFiles?: string[];
}

/** Where an SSH config is, if any, for looking destinations up in. */
export interface SshConfigSource {
  configPath?: string;
  home?: string;
}

const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const HOST = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$/;
const IPV6 = /^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*$/;

/**
 * `user@host:port`, `ssh://user@host:port` or `host` → a target. With an SSH config,
 * `host` is looked up in it as OpenSSH does (HostName, Port, User, IdentityFile; a
 * user or port in the destination wins); user root and port 22 otherwise.
 */
export function parseSshDestination(destination: string, ssh: SshConfigSource = {}): SshTarget {
  const bad = (why: string) => new ConfigError(`invalid SSH destination "${destination}": ${why}`);
  let rest = destination;
  if (rest.startsWith('ssh://')) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  if (/[\s\p{Cc}]/u.test(rest)) throw bad('it contains spaces or control characters');
  if (rest.startsWith('-')) throw bad('it starts with "-"');
  const m = /^(?:([^@/]*)@)?(\[[^\]]*\]|[^:@/]*)(?::([0-9]+))?$/.exec(rest);
  if (!m) throw bad('expected user@host:port');
  const [, givenUser, alias, portText] = m;
  if (givenUser !== undefined && !USER.test(givenUser)) throw bad(`bad user name "${givenUser}"`);
  if (!HOST.test(alias)) throw bad(`bad host name "${alias}"`);
  const givenPort = portText === undefined ? undefined : Number(portText);
  if (
    givenPort !== undefined &&
    !(Number.isInteger(givenPort) && givenPort >= 1 && givenPort <= 65535)
  )
    throw bad(`bad port "${portText}"`);
  const found = ssh.configPath
    ? hostConfig(alias.replace(/^\[(.*)\]$/, '$1'), ssh.configPath, ssh.home)
    : undefined;
  const host = found?.hostName ?? alias;
  const username = givenUser ?? found?.user ?? 'root';
  if (found?.hostName && !HOST.test(host) && !IPV6.test(host))
    throw bad(`bad HostName "${host}" for it in ${ssh.configPath}`);
  if (found?.user && !USER.test(username))
    throw bad(`bad User "${username}" for it in ${ssh.configPath}`);
  return {
    username,
    host: host.replace(/^\[(.*)\]$/, '$1'),
    port: givenPort ?? found?.port ?? 22,
    ...(found?.identityFiles.length && { identityFiles: found.identityFiles }),
  };
}

/** `host:port` (`[v6]:port`), as messages name a target. */
export function describeTarget(target: SshTarget): string {
  return target.host.includes(':')
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
}
