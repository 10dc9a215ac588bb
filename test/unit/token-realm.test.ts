import { describe, expect, it } from 'vitest';
import { realmVerdict } from '../../src/exec/registry/token-realm.js';

const verdict = (realm: string, registry: string, base: string, listed: string[] = []) =>
  realmVerdict(new URL(realm), registry, base, listed);

describe('realmVerdict: where a registry’s credentials may go for a token', () => {
  it('its own host over https, whatever the port', () => {
    expect(
      verdict('https://reg.example.com/token', 'reg.example.com', 'https://reg.example.com'),
    ).toEqual({ send: true });
    expect(
      verdict(
        'https://reg.example.com:8443/auth',
        'reg.example.com:5000',
        'https://reg.example.com:5000',
      ),
    ).toEqual({ send: true });
  });

  it('its own host over plain http only when the registry itself is plain http (loopback)', () => {
    expect(
      verdict('http://127.0.0.1:5002/token', '127.0.0.1:5001', 'http://127.0.0.1:5001'),
    ).toEqual({ send: true });
    expect(
      verdict('http://reg.example.com/token', 'reg.example.com', 'https://reg.example.com'),
    ).toEqual({ send: false, why: 'plain http while the registry speaks https' });
  });

  it('never over plain http to another host, listed or not', () => {
    const no = { send: false, why: 'plain http to another host' };
    expect(
      verdict('http://127.0.0.2:9000/token', '127.0.0.1:5001', 'http://127.0.0.1:5001'),
    ).toEqual(no);
    expect(
      verdict('http://127.0.0.2:9000/token', '127.0.0.1:5001', 'http://127.0.0.1:5001', [
        '127.0.0.2',
      ]),
    ).toEqual(no);
  });

  it('another host over https only when listed (host, or host:port for that port)', () => {
    const realm = 'https://auth.example.com/token';
    const base = 'https://reg.example.com';
    expect(verdict(realm, 'reg.example.com', base)).toEqual({
      send: false,
      why: 'another host, not listed in DEPLOYER_REGISTRY_TOKEN_HOSTS',
    });
    expect(verdict(realm, 'reg.example.com', base, ['auth.example.com'])).toEqual({ send: true });
    expect(verdict(realm, 'reg.example.com', base, ['auth.example.com:443'])).toEqual({
      send: true,
    });
    expect(verdict(realm, 'reg.example.com', base, ['auth.example.com:8443']).send).toBe(false);
    expect(verdict(realm, 'reg.example.com', base, ['example.com']).send).toBe(false);
  });

  it("Docker Hub's token service is built in, for Docker Hub only", () => {
    const hub = 'https://auth.docker.io/token';
    expect(verdict(hub, 'docker.io', 'https://registry-1.docker.io')).toEqual({ send: true });
    expect(verdict(hub, 'ghcr.io', 'https://ghcr.io').send).toBe(false);
  });

  it('no other scheme', () => {
    expect(
      verdict('ftp://reg.example.com/token', 'reg.example.com', 'https://reg.example.com'),
    ).toMatchObject({ send: false });
  });
});
