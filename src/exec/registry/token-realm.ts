import { DOCKER_HUB } from '../image-ref.js';

/** Token services on another host that a registry's own credentials may go to, built in. */
const BUILT_IN_TOKEN_HOSTS: Readonly<Record<string, readonly string[]>> = {
  [DOCKER_HUB]: ['auth.docker.io'],
};

/** Whether a registry's Basic credentials may go to the token realm its challenge named, and why not. */
export type RealmVerdict = { send: true } | { send: false; why: string };

/**
 * A registry's credentials go to its token realm only when the realm is on the
 * registry's own host (over https, or over plain http when the registry itself is
 * spoken to over plain http, as loopback registries are), or over https to a host the
 * operator listed (`tokenHosts`: `host` or `host:port`) or that is built in
 * (`auth.docker.io` for Docker Hub). Never over plain http to another host.
 */
export function realmVerdict(
  realm: URL,
  registry: string,
  registryBase: string,
  tokenHosts: readonly string[],
): RealmVerdict {
  const base = new URL(registryBase);
  const sameHost = realm.hostname.toLowerCase() === base.hostname.toLowerCase();
  if (realm.protocol === 'http:') {
    if (!sameHost) return { send: false, why: 'plain http to another host' };
    if (base.protocol !== 'http:')
      return { send: false, why: 'plain http while the registry speaks https' };
    return { send: true };
  }
  if (realm.protocol !== 'https:') return { send: false, why: `not http(s) (${realm.protocol})` };
  if (sameHost) return { send: true };
  const listed = [...tokenHosts, ...(BUILT_IN_TOKEN_HOSTS[registry] ?? [])];
  if (listed.some((entry) => matchesHost(entry, realm))) return { send: true };
  return { send: false, why: 'another host, not listed in DEPLOYER_REGISTRY_TOKEN_HOSTS' };
}

/** `host` matches any port of that host; `host:port` that port only. */
function matchesHost(entry: string, url: URL): boolean {
  const hostname = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const e = new URL(`${url.protocol}//${entry}`);
  if (e.hostname.toLowerCase() !== hostname) return false;
  return !/:\d+$/.test(entry) || (e.port || '443') === port;
}
