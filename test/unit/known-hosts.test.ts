import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  certAuthorities,
  checkHostKey,
  hashHostName,
  knownKeyTypes,
  parseKnownHosts,
} from '../../src/exec/ssh/known-hosts.js';

/** A wire-format public key blob (uint32 length + type + body), as a server presents it. */
function keyBlob(type: string, seed: string): Buffer {
  const t = Buffer.from(type);
  const body = Buffer.alloc(32, seed);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from([0, 0, 0, 32]), body]);
}
const ED = 'ssh-ed25519';
const keyA = keyBlob(ED, 'a');
const keyB = keyBlob(ED, 'b');
const rsaKey = keyBlob('ssh-rsa', 'r');
const line = (hosts: string, key: Buffer, type = ED) =>
  `${hosts} ${type} ${key.toString('base64')}`;

describe('checkHostKey', () => {
  it('matches a plain entry among several host names', () => {
    const text = line('deploy.example.org,10.0.0.5', keyA);
    expect(checkHostKey(text, 'deploy.example.org', 22, ED, keyA)).toBe('match');
    expect(checkHostKey(text, '10.0.0.5', 22, ED, keyA)).toBe('match');
    expect(checkHostKey(text, 'DEPLOY.example.org', 22, ED, keyA)).toBe('match');
  });

  it('reports a different key of the same type as a mismatch', () => {
    expect(checkHostKey(line('h1', keyA), 'h1', 22, ED, keyB)).toBe('mismatch');
  });

  it('reports a host that is not listed, or listed only with other key types, as unknown', () => {
    expect(checkHostKey(line('h1', keyA), 'h2', 22, ED, keyA)).toBe('unknown');
    expect(checkHostKey(line('h1', rsaKey, 'ssh-rsa'), 'h1', 22, ED, keyA)).toBe('unknown');
    expect(checkHostKey('', 'h1', 22, ED, keyA)).toBe('unknown');
  });

  it('uses [host]:port for non-standard ports, and only then', () => {
    const text = line('[127.0.0.1]:2222', keyA);
    expect(checkHostKey(text, '127.0.0.1', 2222, ED, keyA)).toBe('match');
    expect(checkHostKey(text, '127.0.0.1', 22, ED, keyA)).toBe('unknown');
    expect(checkHostKey(text, '127.0.0.1', 2223, ED, keyA)).toBe('unknown');
    expect(checkHostKey(line('127.0.0.1', keyA), '127.0.0.1', 2222, ED, keyA)).toBe('unknown');
  });

  it('matches hashed entries made with the HMAC-SHA1 scheme', () => {
    const text = [
      line(hashHostName('[10.1.2.3]:2200', randomBytes(20)), keyA),
      line(hashHostName('other.host', randomBytes(20)), keyB),
    ].join('\n');
    expect(checkHostKey(text, '10.1.2.3', 2200, ED, keyA)).toBe('match');
    expect(checkHostKey(text, '10.1.2.3', 2200, ED, keyB)).toBe('mismatch');
    expect(checkHostKey(text, '10.1.2.3', 22, ED, keyA)).toBe('unknown');
    expect(checkHostKey(text, 'other.host', 22, ED, keyB)).toBe('match');
  });

  it('never accepts a @revoked key, even when another line lists it', () => {
    const text = [line('h1', keyA), `@revoked * ${ED} ${keyA.toString('base64')}`].join('\n');
    expect(checkHostKey(text, 'h1', 22, ED, keyA)).toBe('mismatch');
    expect(checkHostKey(`@revoked h1 ${ED} ${keyA.toString('base64')}`, 'h1', 22, ED, keyA)).toBe(
      'mismatch',
    );
  });

  it('ignores @cert-authority lines, comments, blank and broken lines', () => {
    const text = [
      '# a comment',
      '',
      '   ',
      `@cert-authority * ${ED} ${keyA.toString('base64')}`,
      'h1 ssh-ed25519',
      'h1 ssh-ed25519 !!!notbase64',
      '@unknown-marker h1 ssh-ed25519 AAAA',
      `${line('h1', keyB)} a trailing comment`,
    ].join('\r\n');
    expect(checkHostKey(text, 'h1', 22, ED, keyB)).toBe('match');
    expect(checkHostKey(text, 'h1', 22, ED, keyA)).toBe('mismatch');
    expect(checkHostKey(text, 'h2', 22, ED, keyA)).toBe('unknown');
    expect(parseKnownHosts(text).map((e) => e.line)).toEqual([4, 8]);
  });

  it('supports wildcard and negated patterns', () => {
    const text = line('*.example.org,!bad.example.org', keyA);
    expect(checkHostKey(text, 'a.example.org', 22, ED, keyA)).toBe('match');
    expect(checkHostKey(text, 'bad.example.org', 22, ED, keyA)).toBe('unknown');
    expect(checkHostKey(text, 'aexample.org', 22, ED, keyA)).toBe('unknown');
  });

  it('lists the key types known for a host', () => {
    const text = [line('h1', keyA), line('h1', rsaKey, 'ssh-rsa'), line('h2', keyB)].join('\n');
    expect(knownKeyTypes(text, 'h1', 22)).toEqual([ED, 'ssh-rsa']);
    expect(knownKeyTypes(text, 'h3', 22)).toEqual([]);
  });
});

describe('hashed entries written by ssh-keygen -H', () => {
  const dir = mkdtempSync(join(tmpdir(), 'known-hosts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are matched, for port 22 and [host]:port', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(
      file,
      [line('build.example.org', keyA), line('[10.9.8.7]:2222', keyB)].join('\n'),
    );
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).not.toContain('build.example.org');
    expect(hashed).toMatch(/^\|1\|/m);
    expect(checkHostKey(hashed, 'build.example.org', 22, ED, keyA)).toBe('match');
    expect(checkHostKey(hashed, 'build.example.org', 22, ED, keyB)).toBe('mismatch');
    expect(checkHostKey(hashed, '10.9.8.7', 2222, ED, keyB)).toBe('match');
    expect(checkHostKey(hashed, '10.9.8.7', 22, ED, keyB)).toBe('unknown');
  });
});

describe('certAuthorities', () => {
  it('lists the CAs whose @cert-authority patterns cover the host, less revoked ones', () => {
    const text = [
      `@cert-authority *.example.org,!old.example.org ${ED} ${keyA.toString('base64')}`,
      `@cert-authority [10.0.0.*]:2222 ${ED} ${keyB.toString('base64')}`,
      line('web.example.org', rsaKey, 'ssh-rsa'),
    ].join('\n');
    expect(certAuthorities(text, 'Web.Example.org', 22)).toEqual([keyA]);
    expect(certAuthorities(text, 'old.example.org', 22)).toEqual([]);
    expect(certAuthorities(text, '10.0.0.7', 2222)).toEqual([keyB]);
    expect(certAuthorities(text, '10.0.0.7', 22)).toEqual([]);
    const revoked = `${text}\n@revoked * ${ED} ${keyA.toString('base64')}`;
    expect(certAuthorities(revoked, 'web.example.org', 22)).toEqual([]);
  });
});
