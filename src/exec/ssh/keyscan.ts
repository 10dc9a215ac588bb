import { runToExit } from '../run.js';
import type { SshTarget } from './destination.js';

/**
 * The host certificates `target` presents, fetched with OpenSSH's `ssh-keyscan -c`
 * (ssh2 cannot ask for them in its own key exchange). Nothing they say is trusted
 * until a certificate is checked against known_hosts' CAs and the key the host
 * presented to ssh2 (see host-certificate.ts).
 */
export async function fetchHostCertificates(
  target: SshTarget,
  timeoutMs: number,
): Promise<Buffer[]> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const argv = ['ssh-keyscan', '-c', '-T', `${seconds}`, '-p', `${target.port}`, target.host];
  const { stdout } = await runToExit(argv, { timeoutMs: timeoutMs + 1000 });
  // Certificate lines are `<type>-cert-v01@openssh.com <base64>`, without the host name.
  return stdout.split('\n').flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    const at = fields.findIndex((f) => f.endsWith('-cert-v01@openssh.com'));
    return at >= 0 && fields[at + 1] ? [Buffer.from(fields[at + 1], 'base64')] : [];
  });
}
