import { readFileSync } from 'node:fs';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { describeTarget, type SshTarget } from './destination.js';
import { hostCertificateProblem, parseCertificate } from './host-certificate.js';
import { fetchHostCertificates } from './keyscan.js';
import { certAuthorities, checkHostKey, knownKeyTypes } from './known-hosts.js';
import { shellQuote } from './shell-quote.js';

/** How a connection to one target checks the host key it is shown. */
export interface HostKeyPolicy {
  /**
   * ssh2's `hostVerifier`: accepts only a key known_hosts holds for the target, or
   * one a host certificate signed by a CA it lists (`@cert-authority`) vouches for.
   */
  hostVerifier: (key: Buffer, accept: (ok: boolean) => void) => void;
  /** Why the last key `hostVerifier` saw was refused (undefined if it was accepted). */
  problem: () => string | undefined;
  /** Host key algorithms to offer, the types known_hosts holds first; undefined when it holds none. */
  serverHostKey?: ServerHostKeyAlgorithm[];
}

// ssh2's own default order; the types known_hosts holds for a host are asked for first.
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
const algorithmsFor = (keyType: string): ServerHostKeyAlgorithm[] =>
  keyType === 'ssh-rsa'
    ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
    : HOST_KEY_ALGORITHMS.filter((a) => a === keyType);

/** The key type in an SSH wire-format public key: uint32 length, then the type name. */
function wireKeyType(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const len = key.readUInt32BE(0);
  return len > 0 && len <= 64 && 4 + len <= key.length
    ? key.subarray(4, 4 + len).toString('latin1')
    : undefined;
}

/**
 * Checks host keys against the known_hosts file at `knownHostsPath` (read at each
 * check), refusing unknown and changed keys before anything is sent to the host.
 * A key known_hosts does not hold is accepted when a `@cert-authority` line covers
 * the host and the host's certificate for that key checks out (`timeoutMs` to fetch it).
 */
export function hostKeyPolicy(
  target: SshTarget,
  knownHostsPath: string,
  timeoutMs: number,
): HostKeyPolicy {
  const where = describeTarget(target);
  const knownHosts = () => {
    try {
      return readFileSync(knownHostsPath, 'utf8');
    } catch {
      return '';
    }
  };
  const keyscan = shellQuote([
    'ssh-keyscan',
    ...(target.port === 22 ? [] : ['-p', `${target.port}`]),
    target.host,
  ]);
  const unknown = `${where} is not in ${knownHostsPath}: add its key (${keyscan} >> ${shellQuote([knownHostsPath])})`;
  let problem: string | undefined;
  const hostVerifier = (key: Buffer, accept: (ok: boolean) => void): void => {
    const text = knownHosts();
    const type = wireKeyType(key);
    const check = type ? checkHostKey(text, target.host, target.port, type, key) : 'mismatch';
    if (check !== 'unknown') {
      problem =
        check === 'match' ? undefined : `host key of ${where} does not match ${knownHostsPath}`;
      return accept(check === 'match');
    }
    const authorities = certAuthorities(text, target.host, target.port);
    if (authorities.length === 0) {
      problem = unknown;
      return accept(false);
    }
    problem = `${where}: its host certificate could not be checked in time`;
    fetchHostCertificates(target, timeoutMs).then(
      (certs) => {
        const why: string[] = [];
        for (const blob of certs) {
          let reason: string | undefined;
          try {
            const cert = parseCertificate(blob);
            reason = hostCertificateProblem(cert, { hostKey: key, host: target.host, authorities });
          } catch (err) {
            reason = `it cannot be read (${(err as Error).message})`;
          }
          if (reason === undefined) {
            problem = undefined;
            return accept(true);
          }
          why.push(reason);
        }
        problem =
          why.length === 0
            ? `${where} presented no host certificate, and its key is not in ${knownHostsPath} (which has a @cert-authority line for it): add its key (${keyscan} >> ${shellQuote([knownHostsPath])})`
            : `host certificate of ${where} refused: ${[...new Set(why)].join('; ')}`;
        accept(false);
      },
      (err: Error) => {
        problem = `cannot fetch the host certificate of ${where} with ssh-keyscan (openssh-client): ${err.message}`;
        accept(false);
      },
    );
  };
  const known = knownKeyTypes(knownHosts(), target.host, target.port).flatMap(algorithmsFor);
  return {
    hostVerifier,
    problem: () => problem,
    ...(known.length > 0 && {
      serverHostKey: [...known, ...HOST_KEY_ALGORITHMS.filter((a) => !known.includes(a))],
    }),
  };
}
