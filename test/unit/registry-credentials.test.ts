import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { authKeyRegistry, readRegistryCredentials } from '../../src/exec/registry-credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('readRegistryCredentials', () => {
  let dir: string;
  let config: string;
  const write = (json: unknown) => writeFileSync(config, JSON.stringify(json, null, '\t'));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deployer-creds-'));
    config = join(dir, 'config.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what `docker login` writes: base64 auth, Hub under its v1 URL', async () => {
    write({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        '127.0.0.1:5001': { auth: b64('deployer:deployer-test-password') },
      },
      credsStore: '',
    });
    const opts = { dockerConfigDir: dir };
    expect(await readRegistryCredentials('docker.io', opts)).toEqual({
      username: 'hubuser',
      password: 'hub:pass',
      source: config,
    });
    expect(await readRegistryCredentials('127.0.0.1:5001', opts)).toEqual({
      username: 'deployer',
      password: 'deployer-test-password',
      source: config,
    });
    expect(await readRegistryCredentials('127.0.0.1:5000', opts)).toBeUndefined();
  });

  it('matches keys with a scheme or a path, and username/password entries', async () => {
    write({
      auths: {
        'https://registry.example.com:5443/v2/': { username: 'u', password: 'p' },
        'http://ghcr.io': { auth: b64('g:h') },
      },
    });
    const opts = { dockerConfigDir: dir };
    expect(await readRegistryCredentials('registry.example.com:5443', opts)).toMatchObject({
      username: 'u',
      password: 'p',
    });
    expect(await readRegistryCredentials('ghcr.io', opts)).toMatchObject({ username: 'g' });
    expect(await readRegistryCredentials('registry.example.com', opts)).toBeUndefined();
  });

  it('prefers the exact key over an equivalent one', async () => {
    write({ auths: { 'https://ghcr.io': { auth: b64('a:1') }, 'ghcr.io': { auth: b64('b:2') } } });
    expect(await readRegistryCredentials('ghcr.io', { dockerConfigDir: dir })).toMatchObject({
      username: 'b',
    });
  });

  it('an account wins over config.json for its own registry, and only for it', async () => {
    write({
      auths: { 'ghcr.io': { auth: b64('fromconfig:x') }, 'quay.io': { auth: b64('q:y') } },
    });
    const secret = join(dir, 'ocurrent-hub');
    writeFileSync(secret, '  s3cret\n');
    const opts = {
      dockerConfigDir: dir,
      account: { registry: 'ghcr.io', user: 'bot', passwordFile: secret },
    };
    expect(await readRegistryCredentials('ghcr.io', opts)).toEqual({
      username: 'bot',
      password: 's3cret',
      source: secret,
    });
    expect(await readRegistryCredentials('quay.io', opts)).toMatchObject({ username: 'q' });
    expect(await readRegistryCredentials('registry.example.com', opts)).toBeUndefined();
    expect(await readRegistryCredentials('docker.io', opts)).toBeUndefined();
  });

  it("an account for Docker Hub is found under any of Hub's names", async () => {
    const secret = join(dir, 'hub');
    writeFileSync(secret, 'hubpw\n');
    const account = { registry: 'docker.io', user: 'hubbot', passwordFile: secret };
    for (const registry of ['docker.io', 'index.docker.io', 'registry-1.docker.io'])
      expect(
        await readRegistryCredentials(registry, { dockerConfigDir: dir, account }),
      ).toMatchObject({ username: 'hubbot' });
  });

  it('an auth file answers before config.json, one account per registry', async () => {
    write({ auths: { 'ghcr.io': { auth: b64('fromconfig:x') }, 'quay.io': { auth: b64('q:y') } } });
    const authFile = join(dir, 'registry-auths.json');
    writeFileSync(
      authFile,
      JSON.stringify({
        auths: {
          'ghcr.io': { auth: b64('ghbot:gh') },
          'registry.example.com:5000': { username: 'staging', password: 'st' },
        },
      }),
    );
    const opts = { dockerConfigDir: dir, authFile };
    expect(await readRegistryCredentials('ghcr.io', opts)).toEqual({
      username: 'ghbot',
      password: 'gh',
      source: authFile,
    });
    expect(await readRegistryCredentials('registry.example.com:5000', opts)).toMatchObject({
      username: 'staging',
    });
    expect(await readRegistryCredentials('quay.io', opts)).toMatchObject({ username: 'q' });
    // Named by the operator, so a missing one is an error, not "no credentials".
    await expect(
      readRegistryCredentials('ghcr.io', { ...opts, authFile: join(dir, 'absent.json') }),
    ).rejects.toThrow(ConfigError);
  });

  it('missing config or missing entry → undefined', async () => {
    expect(await readRegistryCredentials('ghcr.io', { dockerConfigDir: dir })).toBeUndefined();
    expect(
      await readRegistryCredentials('ghcr.io', { dockerConfigDir: join(dir, 'nope') }),
    ).toBeUndefined();
    write({ auths: { 'ghcr.io': {} }, credsStore: '' });
    expect(await readRegistryCredentials('ghcr.io', { dockerConfigDir: dir })).toBeUndefined();
    write({});
    expect(await readRegistryCredentials('ghcr.io', { dockerConfigDir: dir })).toBeUndefined();
  });

  it('bad files are config errors naming the file, never echoing the secret', async () => {
    const opts = { dockerConfigDir: dir };
    writeFileSync(config, '{ not json');
    await expect(readRegistryCredentials('ghcr.io', opts)).rejects.toThrow(
      new ConfigError(`${config}: not valid JSON`),
    );
    write({ auths: { 'ghcr.io': { auth: b64('no-colon-secret') } } });
    const err = await readRegistryCredentials('ghcr.io', opts).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(config);
    expect((err as Error).message).not.toContain('no-colon-secret');
    write({ auths: { 'ghcr.io': { auth: 42 } } });
    await expect(readRegistryCredentials('ghcr.io', opts)).rejects.toThrow(/auths\.ghcr\.io\.auth/);
    const missing = join(dir, 'absent');
    await expect(
      readRegistryCredentials('ghcr.io', {
        ...opts,
        account: { registry: 'ghcr.io', user: 'u', passwordFile: missing },
      }),
    ).rejects.toThrow(missing);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    await expect(
      readRegistryCredentials('ghcr.io', {
        ...opts,
        account: { registry: 'ghcr.io', user: 'u', passwordFile: empty },
      }),
    ).rejects.toThrow(/empty/);
  });

  it('keeps the password out of JSON and inspect output', async () => {
    write({ auths: { 'ghcr.io': { auth: b64('u:topsecret') } } });
    const creds = await readRegistryCredentials('ghcr.io', { dockerConfigDir: dir });
    expect(creds?.password).toBe('topsecret');
    expect(JSON.stringify({ creds })).not.toContain('topsecret');
    expect(JSON.stringify({ creds })).toContain('[REDACTED]');
    expect(inspect(creds)).not.toContain('topsecret');
    expect(`${String(creds)}`).not.toContain('topsecret');
  });
});

describe('authKeyRegistry', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['http://localhost:5000', 'localhost:5000'],
    ['127.0.0.1:5001', '127.0.0.1:5001'],
    ['https://ghcr.io/v2/', 'ghcr.io'],
  ])('%s → %s', (key, registry) => expect(authKeyRegistry(key)).toBe(registry));
});
