import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../src/exec/image-ref.js';
import { RegistryClient, type ManifestListChild } from '../../src/exec/registry.js';
import { run } from '../../src/exec/run.js';
import { readDeploySettings } from '../../src/wiring/deploy-deps.js';
import { createRegistryAccess } from '../../src/wiring/registry-deps.js';
import { RegistryProxy } from '../helpers/registry-proxy.js';

// Docker's credential-helper protocol, spoken by a stand-in `docker-credential-test`
// on PATH that holds the account of the shared htpasswd registry for one server
// name. Where the credentials arrive is seen by recording proxies in front of it.
const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const AUTH_REGISTRY = process.env.TEST_AUTH_REGISTRY ?? '127.0.0.1:5001';
const AUTH_USER = process.env.TEST_AUTH_REGISTRY_USER ?? 'deployer';
const AUTH_PASSWORD = process.env.TEST_AUTH_REGISTRY_PASSWORD ?? 'deployer-test-password';

const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const basic = `Basic ${Buffer.from(`${AUTH_USER}:${AUTH_PASSWORD}`).toString('base64')}`;
const silent = pino({ level: 'silent' });

describe('registry credentials from docker credential helpers', () => {
  const work = mkdtempSync(join(tmpdir(), 'deployer-cred-helpers-'));
  const bin = join(work, 'bin');
  const dockerConfigDir = join(work, 'docker');
  const asked = join(work, 'asked');
  const envDump = join(work, 'helper-env');
  /** When this file exists, the helper answers with its content as the secret. */
  const wrongSecret = join(work, 'wrong-secret');
  const children: ManifestListChild[] = [];
  const pushed: string[] = [];
  const saved = { ...process.env };
  /** Two names for the same htpasswd registry: the helper holds the account for `a` only. */
  let a: RegistryProxy;
  let b: RegistryProxy;

  beforeAll(async () => {
    mkdirSync(bin);
    mkdirSync(dockerConfigDir);
    a = await new RegistryProxy(AUTH_REGISTRY).start();
    b = await new RegistryProxy(AUTH_REGISTRY).start();
    // The helper: the server URL on stdin, JSON out, or docker-credential-helpers'
    // "not found" answer; it records what it was asked and the environment it got.
    const helper = join(bin, 'docker-credential-test');
    writeFileSync(
      helper,
      `#!/bin/sh
[ "$1" = get ] || { echo "unexpected action $1"; exit 1; }
server=$(cat)
printf '%s\\n' "$server" >> ${asked}
env > ${envDump}
if [ "$server" = "${a.host}" ]; then
  secret=$(cat ${wrongSecret} 2>/dev/null || echo '${AUTH_PASSWORD}')
  printf '{"ServerURL":"%s","Username":"${AUTH_USER}","Secret":"%s"}\\n' "$server" "$secret"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`,
    );
    chmodSync(helper, 0o755);

    const ctx = join(work, 'image');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'id.txt'), `${id}\n`);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY id.txt /id.txt\n');
    const tag = `${REGISTRY}/cred-helpers-${id}:amd64`;
    await run(['docker', 'build', '-q', '--platform', 'linux/amd64', '-t', tag, ctx], {
      env: { DOCKER_BUILDKIT: '0' },
    });
    pushed.push(tag);
    await run(['docker', 'push', tag]);
    const { digest } = await new RegistryClient().headManifest(parseImageRef(tag));
    children.push({
      source: { registry: REGISTRY, repository: `cred-helpers-${id}`, digest },
      platform: { os: 'linux', architecture: 'amd64' },
    });
  });
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    rmSync(asked, { force: true });
    rmSync(wrongSecret, { force: true });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    if (pushed.length) await run(['docker', 'rmi', ...pushed]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  /** A deployer whose worker has the helper on PATH and `config` as its docker config.json. */
  function registryWith(config: unknown) {
    process.env.PATH = `${bin}:${saved.PATH}`;
    writeFileSync(join(dockerConfigDir, 'config.json'), JSON.stringify(config));
    const settings = readDeploySettings({ HOME: work, DOCKER_CONFIG: dockerConfigDir });
    return createRegistryAccess(settings, `${REGISTRY}/staging`, silent).registry;
  }
  const authorizations = (p: RegistryProxy, from = 0) =>
    new Set(p.requests.slice(from).map((r) => r.authorization));
  const askedFor = () => readFileSync(asked, 'utf8').split('\n').filter(Boolean);

  it('credHelpers: the helper named for a registry gives its account, used there only', async () => {
    process.env.WEBHOOK_SECRET = 'leaked-webhook-secret';
    process.env.PRIVATE_KEY = 'leaked-private-key';
    process.env.AWS_REGION = 'eu-west-1';
    const registry = registryWith({ auths: { [a.host]: {} }, credHelpers: { [a.host]: 'test' } });
    const fromA = b.requests.length;
    const target = parseImageRef(`${a.host}/helper-${id}:live`);
    const result = await registry.writeManifestList(target, children);
    expect((await registry.headManifest(target)).digest).toBe(result.digest);
    expect(a.requests.some((r) => r.status === 201)).toBe(true);
    expect(authorizations(a)).toEqual(new Set([undefined, basic]));
    expect(askedFor()).toEqual([a.host]);

    // The helper runs with the children's allow-list, plus its cloud settings only.
    const env = readFileSync(envDump, 'utf8');
    expect(env).toContain(`PATH=${bin}:`);
    expect(env).toContain('AWS_REGION=eu-west-1');
    expect(env).not.toContain('leaked-');

    // The other name of the same registry is not in credHelpers: no credentials, no helper.
    const err = await registry
      .writeManifestList(parseImageRef(`${b.host}/helper-${id}:live`), children)
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(`^${b.host} refused the push \\(401\\): no credentials for ${b.host}`),
    );
    expect(b.requests.length).toBeGreaterThan(fromA);
    expect(authorizations(b, fromA)).toEqual(new Set([undefined]));
    expect(askedFor()).toEqual([a.host]);
  });

  it('credsStore: every registry is asked of the store, each for its own name', async () => {
    const registry = registryWith({ auths: {}, credsStore: 'test' });
    const fromA = a.requests.length;
    const fromB = b.requests.length;
    await registry.writeManifestList(parseImageRef(`${a.host}/store-${id}:live`), children);
    expect(authorizations(a, fromA)).toEqual(new Set([undefined, basic]));

    const err = await registry
      .writeManifestList(parseImageRef(`${b.host}/store-${id}:live`), children)
      .catch((e: Error) => e);
    expect((err as Error).message).toContain(`no credentials for ${b.host}`);
    expect(authorizations(b, fromB)).toEqual(new Set([undefined]));
    expect(askedFor()).toEqual([a.host, b.host]);
  });

  it('a refused password names the helper it came from', async () => {
    writeFileSync(wrongSecret, 'not-the-password');
    const registry = registryWith({ credHelpers: { [a.host]: 'test' } });
    const err = await registry
      .writeManifestList(parseImageRef(`${a.host}/wrong-${id}:live`), children)
      .catch((e: Error) => e);
    const config = join(dockerConfigDir, 'config.json');
    expect((err as Error).message).toBe(
      `${a.host} refused the push (401): the registry rejected the password of user ${AUTH_USER} ` +
        `(from docker-credential-test, credHelpers.${a.host} in ${config}) — correct it (docker login ${a.host})`,
    );
    expect((err as Error).message).not.toContain('not-the-password');
  });

  it('a helper that is not on PATH is an error naming it and the setting', async () => {
    const registry = registryWith({ credHelpers: { [a.host]: 'absent' } });
    const err = await registry
      .writeManifestList(parseImageRef(`${a.host}/absent-${id}:live`), children)
      .catch((e: Error) => e);
    const config = join(dockerConfigDir, 'config.json');
    expect((err as Error).message).toMatch(
      new RegExp(
        `^credHelpers\\.${a.host.replace(/\./g, '\\.')} in ${config}: docker-credential-absent get for ${a.host}: cannot start it .*on PATH`,
      ),
    );
  });
});
