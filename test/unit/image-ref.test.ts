import { describe, expect, it } from 'vitest';
import {
  formatImageRef,
  InvalidImageRefError,
  isInsecureRegistry,
  parseImageRef,
  parseRegistryList,
  registryBaseUrl,
} from '../../src/exec/image-ref.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseImageRef', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }],
    ['ocurrent/deployer', { registry: 'docker.io', repository: 'ocurrent/deployer' }],
    ['docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/a/b:x', { registry: 'docker.io', repository: 'a/b', tag: 'x' }],
    ['localhost/x', { registry: 'localhost', repository: 'x' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x' }],
    ['127.0.0.1:5000/a/b:tag', { registry: '127.0.0.1:5000', repository: 'a/b', tag: 'tag' }],
    ['[::1]:5000/a:t', { registry: '[::1]:5000', repository: 'a', tag: 't' }],
    [
      'ghcr.io/acme/web/api:v1.2-rc_1',
      { registry: 'ghcr.io', repository: 'acme/web/api', tag: 'v1.2-rc_1' },
    ],
    [`x@${D}`, { registry: 'docker.io', repository: 'library/x', digest: D }],
    [
      `127.0.0.1:5000/s:live@${D}`,
      { registry: '127.0.0.1:5000', repository: 's', tag: 'live', digest: D },
    ],
    ['Registry/x', { registry: 'Registry', repository: 'x' }],
    ['a__b/c-d.e', { registry: 'docker.io', repository: 'a__b/c-d.e' }],
  ])('%s', (text, expected) => expect(parseImageRef(text)).toEqual(expected));

  it.each([
    ['', /empty/],
    ['UPPER', /lowercase/],
    ['a b', /whitespace/],
    ['x:', /bad tag/],
    ['x:a/b', /bad registry/],
    ['x:-bad', /bad tag/],
    [`x:${'t'.repeat(129)}`, /bad tag/],
    ['x@sha256:abc', /64/],
    ['x@nodigest', /bad digest/],
    ['../x', /bad registry/],
    ['a;rm -rf /', /whitespace/],
    ['a;b', /bad repository/],
    ['localhost:5000/', /missing/],
    ['a//b', /bad repository/],
    ['bad_host.io:x/y', /bad registry/],
    ['ab'.repeat(32), /image id/],
    ['x'.repeat(10_000_000), /too long/],
  ])('rejects %#', (text, reason) => {
    expect(() => parseImageRef(text)).toThrow(InvalidImageRefError);
    expect(() => parseImageRef(text)).toThrow(reason);
  });

  it('formats the full form, which reads back unchanged', () => {
    for (const text of [
      'nginx',
      'localhost:5000/x:t',
      `127.0.0.1:5000/a/b:tag@${D}`,
      'ghcr.io/a/b',
    ]) {
      const ref = parseImageRef(text);
      expect(parseImageRef(formatImageRef(ref))).toEqual(ref);
    }
    expect(formatImageRef(parseImageRef('nginx:1'))).toBe('docker.io/library/nginx:1');
    expect(formatImageRef({ registry: 'r:1', repository: 'a', digest: D })).toBe(`r:1/a@${D}`);
  });
});

describe('isInsecureRegistry / registryBaseUrl', () => {
  it.each([
    ['localhost:5000', true],
    ['localhost', true],
    ['127.0.0.1:5001', true],
    ['127.12.0.9', true],
    ['[::1]:5000', true],
    ['128.0.0.1:5000', false],
    ['127.0.0.1.example.com', false],
    ['docker.io', false],
    ['registry.internal:5000', false],
  ])('%s → %s', (registry, insecure) => expect(isInsecureRegistry(registry)).toBe(insecure));

  it('honours the listed registries, by host:port or host', () => {
    const listed = parseRegistryList(' registry.internal:5000, build-cache ,,');
    expect(listed).toEqual(['registry.internal:5000', 'build-cache']);
    expect(isInsecureRegistry('registry.internal:5000', listed)).toBe(true);
    expect(isInsecureRegistry('registry.internal:5001', listed)).toBe(false);
    expect(isInsecureRegistry('build-cache:80', listed)).toBe(true);
    expect(parseRegistryList(undefined)).toEqual([]);
  });

  it('maps Docker Hub and picks the scheme', () => {
    expect(registryBaseUrl('docker.io', false)).toBe('https://registry-1.docker.io');
    expect(registryBaseUrl('ghcr.io', false)).toBe('https://ghcr.io');
    expect(registryBaseUrl('127.0.0.1:5000', true)).toBe('http://127.0.0.1:5000');
  });
});
