import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** An OpenSSH certificate (PROTOCOL.certkeys), as `ssh-keyscan -c` shows a host's. */
export interface SshCertificate {
  /** The certified key, as a plain wire-format public key blob. */
  key: Buffer;
  /** 1: user, 2: host. */
  type: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Buffer;
  /** The CA's public key blob. */
  signatureKey: Buffer;
  /** The bytes the CA signed: the certificate up to its signature. */
  signed: Buffer;
  signature: Buffer;
}

const HOST_CERT = 2;
const CERT_SUFFIX = '-cert-v01@openssh.com';
// The fields after the nonce that make up each type's public key.
const KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 1,
  'ecdsa-sha2-nistp256': 2,
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'ssh-rsa': 2,
};

/** Reads SSH wire-format fields from a buffer; throws on a truncated one. */
class Wire {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  bytes(): Buffer {
    if (this.offset + 4 > this.buf.length) throw new Error('truncated');
    const len = this.buf.readUInt32BE(this.offset);
    if (this.offset + 4 + len > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.offset + 4, this.offset + 4 + len);
    this.offset += 4 + len;
    return out;
  }
  text(): string {
    return this.bytes().toString('utf8');
  }
  uint32(): number {
    if (this.offset + 4 > this.buf.length) throw new Error('truncated');
    this.offset += 4;
    return this.buf.readUInt32BE(this.offset - 4);
  }
  uint64(): bigint {
    if (this.offset + 8 > this.buf.length) throw new Error('truncated');
    this.offset += 8;
    return this.buf.readBigUInt64BE(this.offset - 8);
  }
  get done(): boolean {
    return this.offset === this.buf.length;
  }
}

const field = (data: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};

/** Parses a certificate blob; throws an `Error` saying what is wrong with it. */
export function parseCertificate(blob: Buffer): SshCertificate {
  const wire = new Wire(blob);
  const certType = wire.text();
  if (!certType.endsWith(CERT_SUFFIX)) throw new Error(`not a certificate (${certType})`);
  const keyType = certType.slice(0, -CERT_SUFFIX.length);
  const fields = KEY_FIELDS[keyType];
  if (fields === undefined) throw new Error(`unsupported certificate type ${certType}`);
  wire.bytes(); // nonce
  const keyStart = wire.offset;
  for (let i = 0; i < fields; i++) wire.bytes();
  const key = Buffer.concat([field(Buffer.from(keyType)), blob.subarray(keyStart, wire.offset)]);
  wire.uint64(); // serial
  const type = wire.uint32();
  const keyId = wire.text();
  const principalList = new Wire(wire.bytes());
  const principals: string[] = [];
  while (!principalList.done) principals.push(principalList.text());
  const validAfter = wire.uint64();
  const validBefore = wire.uint64();
  const criticalOptions = wire.bytes();
  wire.bytes(); // extensions
  wire.bytes(); // reserved
  const signatureKey = wire.bytes();
  const signed = blob.subarray(0, wire.offset);
  const signature = wire.bytes();
  if (!wire.done) throw new Error('trailing bytes');
  return {
    key,
    type,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    signatureKey,
    signed,
    signature,
  };
}

export interface HostCertificateCheck {
  /** The key the host presented in the key exchange. */
  hostKey: Buffer;
  /** The name the host was reached by (after the SSH config's HostName). */
  host: string;
  /** CA keys `@cert-authority` lines name for the host (revoked ones left out). */
  authorities: Buffer[];
  now?: Date;
}

/**
 * Why `cert` does not vouch for `hostKey` as `host` (as OpenSSH checks a host
 * certificate, and stricter: a host certificate must name the host), or undefined
 * when it does: a host certificate of that key, for that name, valid now, with no
 * critical options, signed by one of `authorities` with a signature that verifies.
 */
export function hostCertificateProblem(
  cert: SshCertificate,
  check: HostCertificateCheck,
): string | undefined {
  const now = BigInt(Math.floor((check.now ?? new Date()).getTime() / 1000));
  if (!cert.key.equals(check.hostKey)) return 'it certifies another key than the one presented';
  if (cert.type !== HOST_CERT) return 'it is not a host certificate';
  if (!cert.principals.includes(check.host))
    return `it is not issued for ${check.host} (it names ${cert.principals.join(', ') || 'no host'})`;
  if (now < cert.validAfter) return 'it is not valid yet';
  if (now >= cert.validBefore) return 'it has expired';
  if (cert.criticalOptions.length > 0) return 'it has critical options';
  if (!check.authorities.some((ca) => ca.equals(cert.signatureKey)))
    return 'its CA is not in a @cert-authority line for the host';
  if (!signatureVerifies(cert.signatureKey, cert.signed, cert.signature))
    return 'its signature does not verify';
  return undefined;
}

const CURVES: Record<string, { crv: string; hash: string; size: number }> = {
  nistp256: { crv: 'P-256', hash: 'sha256', size: 32 },
  nistp384: { crv: 'P-384', hash: 'sha384', size: 48 },
  nistp521: { crv: 'P-521', hash: 'sha512', size: 66 },
};
const RSA_HASHES: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' };

const b64url = (b: Buffer) => b.toString('base64url');
/** An mpint's magnitude, left-padded to `size` bytes. */
const unsigned = (mpint: Buffer, size?: number) => {
  const magnitude = mpint[0] === 0 ? mpint.subarray(1) : mpint;
  return size === undefined || magnitude.length >= size
    ? magnitude
    : Buffer.concat([Buffer.alloc(size - magnitude.length), magnitude]);
};

/** Whether `signature` (an SSH signature blob) is `caKey`'s over `data`; false for what it cannot check. */
function signatureVerifies(caKey: Buffer, data: Buffer, signature: Buffer): boolean {
  try {
    const ca = new Wire(caKey);
    const caType = ca.text();
    const sig = new Wire(signature);
    const format = sig.text();
    const value = sig.bytes();
    if (caType === 'ssh-ed25519' && format === caType) {
      const x = ca.bytes();
      return verify(null, data, jwk({ kty: 'OKP', crv: 'Ed25519', x: b64url(x) }), value);
    }
    const curve = CURVES[caType.replace(/^ecdsa-sha2-/, '')];
    if (caType.startsWith('ecdsa-sha2-') && curve && format === caType) {
      ca.text(); // the curve name again
      const q = ca.bytes();
      const n = curve.size;
      if (q[0] !== 4 || q.length !== 1 + 2 * n) return false;
      const key = jwk({
        kty: 'EC',
        crv: curve.crv,
        x: b64url(q.subarray(1, 1 + n)),
        y: b64url(q.subarray(1 + n)),
      });
      const rs = new Wire(value);
      const raw = Buffer.concat([unsigned(rs.bytes(), n), unsigned(rs.bytes(), n)]);
      return verify(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' }, raw);
    }
    // ssh-rsa signatures (SHA-1) are refused, as OpenSSH does for CAs by default.
    if (caType === 'ssh-rsa' && RSA_HASHES[format]) {
      const e = ca.bytes();
      const n = ca.bytes();
      const key = jwk({ kty: 'RSA', e: b64url(unsigned(e)), n: b64url(unsigned(n)) });
      return verify(RSA_HASHES[format], data, key, value);
    }
    return false;
  } catch {
    return false;
  }
}

const jwk = (key: Record<string, string>): KeyObject => createPublicKey({ key, format: 'jwk' });
