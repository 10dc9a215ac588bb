import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hostCertificateProblem,
  parseCertificate,
  type SshCertificate,
} from '../../src/exec/ssh/host-certificate.js';

// Certificates made by ssh-keygen, checked without any host.
const dir = mkdtempSync(join(tmpdir(), 'deployer-host-cert-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function newKey(type: string): string {
  const file = join(dir, `${++n}-${type}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  return file;
}
/** The base64 field of an OpenSSH public key or certificate file, as bytes. */
const blob = (file: string) => Buffer.from(readFileSync(file, 'utf8').split(/\s+/)[1], 'base64');
function certify(ca: string, key: string, ...args: string[]): Buffer {
  execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'web', ...args, `${key}.pub`]);
  return blob(`${key}-cert.pub`);
}

describe('host certificates', () => {
  for (const [caType, keyType] of [
    ['ed25519', 'ed25519'],
    ['ecdsa', 'rsa'],
    ['rsa', 'ecdsa'],
  ]) {
    it(`accepts a ${keyType} host key certified by a ${caType} CA, and nothing else`, () => {
      const ca = newKey(caType);
      const key = newKey(keyType);
      const cert = parseCertificate(certify(ca, key, '-h', '-n', 'web.example.org,10.0.0.5'));
      expect(cert.principals).toEqual(['web.example.org', '10.0.0.5']);
      expect(cert.key.equals(blob(`${key}.pub`))).toBe(true);
      const check = {
        hostKey: blob(`${key}.pub`),
        host: '10.0.0.5',
        authorities: [blob(`${ca}.pub`)],
      };
      expect(hostCertificateProblem(cert, check)).toBeUndefined();
      expect(
        hostCertificateProblem(cert, { ...check, authorities: [blob(`${newKey(caType)}.pub`)] }),
      ).toBe('its CA is not in a @cert-authority line for the host');
      expect(
        hostCertificateProblem(cert, { ...check, hostKey: blob(`${newKey(keyType)}.pub`) }),
      ).toBe('it certifies another key than the one presented');
    });
  }

  it('checks the CA’s signature over every field', () => {
    const ca = newKey('ed25519');
    const key = newKey('ed25519');
    const good = certify(ca, key, '-h', '-n', 'web.example.org');
    const check = {
      hostKey: blob(`${key}.pub`),
      host: 'web.example.org',
      authorities: [blob(`${ca}.pub`)],
    };
    // The key id "web" rewritten to "wfb": the fields still parse, the signature no longer matches.
    const at = good.indexOf(Buffer.from('web\0'));
    const tampered = Buffer.from(good);
    tampered[at + 1] = 'f'.charCodeAt(0);
    const cert = parseCertificate(tampered);
    expect(cert.keyId).toBe('wfb');
    expect(hostCertificateProblem(cert, check)).toBe('its signature does not verify');
    // A signature field moved onto another certificate of the same CA does not help either.
    const other = parseCertificate(certify(ca, key, '-h', '-n', 'web.example.org', '-z', '7'));
    const swapped: SshCertificate = { ...cert, signature: other.signature };
    expect(hostCertificateProblem(swapped, check)).toBe('its signature does not verify');
  });

  it('refuses user certificates, other names, and certificates out of their validity', () => {
    const ca = newKey('ed25519');
    const key = newKey('ed25519');
    const check = {
      hostKey: blob(`${key}.pub`),
      host: 'web.example.org',
      authorities: [blob(`${ca}.pub`)],
    };
    const problem = (...args: string[]) =>
      hostCertificateProblem(parseCertificate(certify(ca, key, ...args)), check);
    expect(problem('-n', 'web.example.org')).toBe('it is not a host certificate');
    expect(problem('-h', '-n', 'db.example.org')).toBe(
      'it is not issued for web.example.org (it names db.example.org)',
    );
    expect(problem('-h')).toBe('it is not issued for web.example.org (it names no host)');
    expect(problem('-h', '-n', 'web.example.org', '-V', '20200101:20200102')).toBe(
      'it has expired',
    );
    expect(problem('-h', '-n', 'web.example.org', '-V', '+1d:+2d')).toBe('it is not valid yet');
  });

  it('refuses what is not a certificate', () => {
    expect(() => parseCertificate(blob(`${newKey('ed25519')}.pub`))).toThrow(/not a certificate/);
    const ca = newKey('ed25519');
    const cert = certify(ca, newKey('ed25519'), '-h', '-n', 'x');
    expect(() => parseCertificate(cert.subarray(0, cert.length - 10))).toThrow(/truncated/);
  });
});
