import { createHmac, timingSafeEqual } from 'node:crypto';

/** What the known_hosts file says about a key a host presented. */
export type HostKeyCheck = 'match' | 'mismatch' | 'unknown';

/** One key line of an OpenSSH known_hosts file. */
export interface KnownHostsEntry {
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns (`*`, `?`, `!negated`, `[host]:port`), or one hashed name. */
  hosts: { patterns: string[] } | { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  line: number;
}

/** Parses known_hosts text; lines that are not key lines (comments, garbage) are skipped, as ssh does. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostsEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    } else if (fields[0].startsWith('@')) return;
    const [hostField, keyType, base64] = fields;
    if (!hostField || !keyType || !base64 || !/^[A-Za-z0-9+/]+=*$/.test(base64)) return;
    const hosts = parseHostField(hostField);
    if (hosts)
      entries.push({ marker, hosts, keyType, key: Buffer.from(base64, 'base64'), line: index + 1 });
  });
  return entries;
}

function parseHostField(field: string): KnownHostsEntry['hosts'] | undefined {
  if (!field.startsWith('|')) return { patterns: field.split(',').filter(Boolean) };
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name)): the only scheme ssh-keygen -H writes.
  const [, scheme, salt, hash] = field.split('|');
  if (scheme !== '1' || !salt || !hash) return undefined;
  return { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** A hashed known_hosts host field for `name`, as `ssh-keygen -H` writes it. */
export function hashHostName(name: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hostMatches(hosts: KnownHostsEntry['hosts'], name: string): boolean {
  if ('salt' in hosts) {
    const hash = createHmac('sha1', hosts.salt).update(name).digest();
    return hash.length === hosts.hash.length && timingSafeEqual(hash, hosts.hash);
  }
  let matched = false;
  for (const pattern of hosts.patterns) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) matched = true;
  }
  return matched;
}

function entriesFor(text: string, host: string, port: number): KnownHostsEntry[] {
  // ssh lowercases the name before it looks it up (and before ssh-keygen -H hashes it).
  const name = knownHostsName(host.toLowerCase(), port);
  return parseKnownHosts(text).filter(
    (e) => e.marker !== 'cert-authority' && hostMatches(e.hosts, name),
  );
}

/**
 * Checks a presented host key like ssh does: `match` if a line for the host has
 * exactly this key, `mismatch` if lines for the host have other keys of this type
 * (or the key is `@revoked`: never acceptable), `unknown` otherwise.
 */
export function checkHostKey(
  knownHostsText: string,
  host: string,
  port: number,
  keyType: string,
  keyBlob: Buffer,
): HostKeyCheck {
  const entries = entriesFor(knownHostsText, host, port).filter((e) => e.keyType === keyType);
  const same = entries.filter((e) => e.key.equals(keyBlob));
  if (same.some((e) => e.marker === 'revoked')) return 'mismatch';
  if (same.length > 0) return 'match';
  return entries.some((e) => e.marker !== 'revoked') ? 'mismatch' : 'unknown';
}

/** The key types known_hosts holds for a host, so a client can ask for those first. */
export function knownKeyTypes(knownHostsText: string, host: string, port: number): string[] {
  const types = entriesFor(knownHostsText, host, port)
    .filter((e) => e.marker !== 'revoked')
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/** The CA keys `@cert-authority` lines name for a host, less those `@revoked` for it. */
export function certAuthorities(knownHostsText: string, host: string, port: number): Buffer[] {
  const name = knownHostsName(host.toLowerCase(), port);
  const entries = parseKnownHosts(knownHostsText).filter((e) => hostMatches(e.hosts, name));
  const revoked = entries.filter((e) => e.marker === 'revoked').map((e) => e.key);
  return entries
    .filter((e) => e.marker === 'cert-authority' && !revoked.some((r) => r.equals(e.key)))
    .map((e) => e.key);
}
