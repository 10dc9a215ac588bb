import { existsSync, readFileSync } from 'node:fs';
import ssh2, { type AgentAuthMethod, type PublicKeyAuthMethod } from 'ssh2';
import { describeTarget, type SshTarget } from './destination.js';
import { SshError } from './errors.js';
import type { SshSettings } from './settings.js';

/** How a connection logs in, and what to say when the host refuses it. */
export interface Identities {
  /** ssh2's `authHandler`: the methods, tried in order. */
  methods: (PublicKeyAuthMethod | AgentAuthMethod)[];
  loginRefused: string;
}

/**
 * The keys a target logs in with, as OpenSSH picks them: the host's IdentityFile
 * keys (those that exist) and DEPLOYER_SSH_KEY; when neither is configured, the
 * ssh-agent's keys (SSH_AUTH_SOCK), then `~/.ssh/id_ed25519` and `~/.ssh/id_rsa`
 * where they exist. Throws an `SshError` (`key-file`) when there is nothing to log in with.
 */
export function identitiesFor(target: SshTarget, settings: SshSettings): Identities {
  const where = describeTarget(target);
  const who = `${target.username}@${where}`;
  const keyFile = (path: string, why: string) =>
    new SshError(`cannot read the SSH private key ${path}: ${why}`, 'key-file', where);
  const configured = target.identityFiles ?? [];
  const readable = configured.filter((path) => existsSync(path));
  if (configured.length > 0 && readable.length === 0 && !settings.privateKeyPath)
    throw keyFile(configured[0], `no such file (IdentityFile for it in ${settings.configPath})`);
  const files = [...readable, ...(settings.privateKeyPath ? [settings.privateKeyPath] : [])];
  if (files.length > 0) {
    const keys = files.map((path) => {
      try {
        return { path, key: usableKey(path, readFileSync(path), where) };
      } catch (err) {
        if (err instanceof SshError) throw err;
        const why = `${(err as Error).message}${path === settings.privateKeyPath ? ' (set DEPLOYER_SSH_KEY)' : ''}`;
        throw keyFile(path, why);
      }
    });
    const methods = keys.map(({ key }) => publicKey(target, key));
    const paths = keys.map((k) => k.path);
    return {
      methods,
      loginRefused:
        paths.length === 1
          ? `cannot log in to ${who} with the key ${paths[0]}: refused (is ${paths[0]}.pub in ~${target.username}/.ssh/authorized_keys there?)`
          : `cannot log in to ${who} with the keys ${paths.join(', ')}: refused (is one of their .pub files in ~${target.username}/.ssh/authorized_keys there?)`,
    };
  }

  const methods: Identities['methods'] = [];
  const tried: string[] = [];
  if (settings.agentSocket) {
    methods.push({ type: 'agent', username: target.username, agent: settings.agentSocket });
    tried.push(`the keys of ssh-agent (SSH_AUTH_SOCK=${settings.agentSocket})`);
  }
  for (const path of settings.defaultKeyPaths ?? []) {
    if (!existsSync(path)) continue;
    let key: Buffer;
    try {
      key = usableKey(path, readFileSync(path), where);
    } catch (err) {
      if (settings.agentSocket) continue; // e.g. one with a passphrase, whose key the agent holds
      throw err instanceof SshError ? err : keyFile(path, (err as Error).message);
    }
    methods.push(publicKey(target, key));
    tried.push(`the key ${path}`);
  }
  if (methods.length === 0)
    throw new SshError(
      `no SSH key to log in to ${who} with: set DEPLOYER_SSH_KEY, give the host an IdentityFile ` +
        'in the SSH config, or run ssh-agent with the key added and SSH_AUTH_SOCK set',
      'key-file',
      where,
    );
  return {
    methods,
    loginRefused: `cannot log in to ${who} with ${tried.join(' or ')}: refused (is one of them in ~${target.username}/.ssh/authorized_keys there? \`ssh-add -L\` lists the agent's)`,
  };
}

/** The private key in `data`, checked now so a bad file is named before connecting. */
function usableKey(path: string, data: Buffer, where: string): Buffer {
  const parsed = ssh2.utils.parseKey(data);
  const key = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
  if (key instanceof Error)
    throw new SshError(`cannot use the SSH private key ${path}: ${key.message}`, 'key-file', where);
  if (!(key as { isPrivateKey(): boolean }).isPrivateKey())
    throw new SshError(
      `cannot use the SSH private key ${path}: it holds a public key`,
      'key-file',
      where,
    );
  return data;
}

const publicKey = (target: SshTarget, key: Buffer): PublicKeyAuthMethod => ({
  type: 'publickey',
  username: target.username,
  key,
});
