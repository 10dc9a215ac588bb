import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { readRegistryCredentials } from '../../src/exec/registry-credentials.js';

// Stand-in helpers on PATH, each answering the docker-credential-helpers protocol
// one way; `asked` records the server URLs they were given on stdin.
const dir = mkdtempSync(join(tmpdir(), 'deployer-helper-unit-'));
const bin = join(dir, 'bin');
const asked = join(dir, 'asked');
const config = join(dir, 'config.json');
const savedPath = process.env.PATH;

function helper(name: string, body: string): void {
  const file = join(bin, `docker-credential-${name}`);
  writeFileSync(file, `#!/bin/sh\nserver=$(cat)\nprintf '%s\\n' "$server" >> ${asked}\n${body}\n`);
  chmodSync(file, 0o755);
}
const write = (json: unknown) => writeFileSync(config, JSON.stringify(json));
const read = (registry: string) => readRegistryCredentials(registry, { dockerConfigDir: dir });
const askedFor = () => readFileSync(asked, 'utf8').split('\n').filter(Boolean);

beforeAll(() => {
  mkdirSync(bin);
  process.env.PATH = `${bin}:${savedPath}`;
  helper(
    'echo',
    `printf '{"ServerURL":"%s","Username":"u-%s","Secret":"s3cret"}' "$server" "$server"`,
  );
  helper('other', `printf '{"Username":"other","Secret":"x"}'`);
  helper('none', 'echo "credentials not found in native keychain"; exit 1');
  helper('token', `printf '{"Username":"<token>","Secret":"refresh"}'`);
  helper('garbage', `echo 'Username=u Secret=leaked-in-garbage'`);
  helper('broken', 'echo "the keychain is locked" ; exit 1');
});
beforeEach(() => rmSync(asked, { force: true }));
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

describe('credential helpers in config.json', () => {
  it('asks for Docker Hub under its v1 URL and for others by host[:port]', async () => {
    write({ credsStore: 'echo' });
    expect(await read('docker.io')).toEqual({
      username: 'u-https://index.docker.io/v1/',
      password: 's3cret',
      source: `docker-credential-echo, credsStore in ${config}`,
    });
    expect(await read('127.0.0.1:5001')).toMatchObject({ username: 'u-127.0.0.1:5001' });
    expect(askedFor()).toEqual(['https://index.docker.io/v1/', '127.0.0.1:5001']);
  });

  it('credHelpers wins over credsStore and auths; keys match as auths keys do', async () => {
    write({
      auths: { 'ghcr.io': { auth: Buffer.from('inline:pw').toString('base64') } },
      credsStore: 'other',
      credHelpers: { 'https://ghcr.io': 'echo', 'https://index.docker.io/v1/': 'echo' },
    });
    expect(await read('ghcr.io')).toMatchObject({ username: 'u-ghcr.io' });
    expect(await read('docker.io')).toMatchObject({ username: 'u-https://index.docker.io/v1/' });
    // As the docker CLI: with a store, the store answers for registries without a helper.
    expect(await read('quay.io')).toMatchObject({ username: 'other' });
  });

  it('nothing stored for the server: no credentials, and no other registry’s', async () => {
    write({ auths: { 'ghcr.io': {} }, credsStore: 'none' });
    expect(await read('ghcr.io')).toBeUndefined();
    expect(askedFor()).toEqual(['ghcr.io']);
  });

  it('keeps the secret out of logs', async () => {
    write({ credsStore: 'echo' });
    const creds = await read('ghcr.io');
    expect(JSON.stringify(creds)).not.toContain('s3cret');
    expect(inspect(creds)).not.toContain('s3cret');
  });

  it('refuses what it cannot use, naming the helper and the setting', async () => {
    const cases: [unknown, string, RegExp][] = [
      [
        { credHelpers: { 'ghcr.io': 'token' } },
        'ghcr.io',
        /^credHelpers\.ghcr\.io in .*: docker-credential-token holds an identity token for ghcr\.io/,
      ],
      [
        { credsStore: 'garbage' },
        'ghcr.io',
        /^credsStore in .*: docker-credential-garbage answered for ghcr\.io with something other than/,
      ],
      [
        { credsStore: 'broken' },
        'ghcr.io',
        /^credsStore in .*: docker-credential-broken failed for ghcr\.io: the keychain is locked$/,
      ],
      [
        { credsStore: 'missing' },
        'ghcr.io',
        /^credsStore in .*: docker-credential-missing get for ghcr\.io: cannot start it \(spawn docker-credential-missing ENOENT\)/,
      ],
      [{ credsStore: '../../bin/sh' }, 'ghcr.io', /^credsStore in .*: bad credential helper name/],
    ];
    for (const [json, registry, message] of cases) {
      write(json);
      const err = await read(registry).catch((e: Error) => e);
      expect(err, JSON.stringify(json)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('leaked-in-garbage');
    }
  });
});
