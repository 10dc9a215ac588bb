import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignatureCheck, signatureMatches } from '../../src/receiver/signature.js';

const SECRET = 'unit-secret';
const github = (bytes: Uint8Array | string, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(bytes).digest('hex')}`;

describe('signatureMatches', () => {
  it('checks the bytes as sent, whatever their encoding', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]); // not UTF-8
    expect(signatureMatches(SECRET, bytes, github(bytes))).toBe(true);
    expect(signatureMatches(SECRET, 'é', github(Buffer.from('é')))).toBe(true);
  });

  it.each([
    ['another secret', github('{}', 'other')],
    ['upper-case hex', github('{}').toUpperCase().replace('SHA256', 'sha256')],
    ['sha1', 'sha1=0123456789abcdef0123456789abcdef01234567'],
    ['a prefix only', 'sha256='],
    ['empty', ''],
    ['absent', undefined],
  ])('refuses %s', (_, signature) => {
    expect(signatureMatches(SECRET, '{}', signature)).toBe(false);
  });

  it('never matches an empty body or an empty secret', () => {
    expect(signatureMatches(SECRET, '', github(''))).toBe(false);
    expect(signatureMatches('', '{}', github('{}', ''))).toBe(false);
  });

  it('gives the same answer fed in chunks', () => {
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', x: 'y'.repeat(100_000) }));
    const check = new SignatureCheck(SECRET);
    for (let i = 0; i < body.length; i += 65_536) check.update(body.subarray(i, i + 65_536));
    expect(check.matches(github(body))).toBe(true);
  });
});
