import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeploySettings } from '../../src/wiring/deploy-deps.js';
import { parseImageRef } from '../../src/exec/image-ref.js';
import { RegistryClient, type ManifestListChild } from '../../src/exec/registry.js';
import { run } from '../../src/exec/run.js';
import { createRegistryAccess } from '../../src/wiring/registry-deps.js';
import { RegistryProxy } from '../helpers/registry-proxy.js';
import { RegistryServer } from '../helpers/registry-server.js';
import { fetchTrusting, TokenRealm } from '../helpers/token-realm.js';

// Which registry and which token service each account reaches, observed where the
// requests arrive: recording proxies in front of real docker-registry instances, and
// token services of the test's own for registries configured with `auth: token`.
const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const AUTH_REGISTRY = process.env.TEST_AUTH_REGISTRY ?? '127.0.0.1:5001';
const AUTH_USER = process.env.TEST_AUTH_REGISTRY_USER ?? 'deployer';
const AUTH_PASSWORD = process.env.TEST_AUTH_REGISTRY_PASSWORD ?? 'deployer-test-password';
const OTHER = { user: 'other-account', password: 'other-password' };
const TOKEN_ACCOUNT = { user: 'token-account', password: 'token-password' };

const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const basic = (a: { user: string; password: string }) =>
  `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}`;
const silent = pino({ level: 'silent' });

describe('registry credentials go only to their registry', () => {
  const work = mkdtempSync(join(tmpdir(), 'deployer-registry-creds-'));
  const dockerConfigDir = join(work, 'docker');
  const passwordFile = join(work, 'registry-password');
  const tokenPasswordFile = join(work, 'token-password');
  const authFile = join(work, 'registry-auths.json');
  const children: ManifestListChild[] = [];
  const pushed: string[] = [];
  /** The shared htpasswd registry (A) and one of the test's own with another account (B), each behind a recording proxy. */
  const other = new RegistryServer({ htpasswd: OTHER });
  let a: RegistryProxy;
  let b: RegistryProxy;

  beforeAll(async () => {
    mkdirSync(dockerConfigDir);
    writeFileSync(passwordFile, `${AUTH_PASSWORD}\n`);
    writeFileSync(tokenPasswordFile, `${TOKEN_ACCOUNT.password}\n`);
    await other.start();
    a = await new RegistryProxy(AUTH_REGISTRY).start();
    b = await new RegistryProxy(other.host).start();
    writeFileSync(
      authFile,
      JSON.stringify({ auths: { [b.host]: { auth: btoa(`${OTHER.user}:${OTHER.password}`) } } }),
    );
    const ctx = join(work, 'image');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'id.txt'), `${id}\n`);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY id.txt /id.txt\n');
    const tag = `${REGISTRY}/creds-${id}:amd64`;
    await run(['docker', 'build', '-q', '--platform', 'linux/amd64', '-t', tag, ctx], {
      env: { DOCKER_BUILDKIT: '0' },
    });
    pushed.push(tag);
    await run(['docker', 'push', tag]);
    const { digest } = await new RegistryClient().headManifest(parseImageRef(tag));
    children.push({
      source: { registry: REGISTRY, repository: `creds-${id}`, digest },
      platform: { os: 'linux', architecture: 'amd64' },
    });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await other.stop();
    if (pushed.length) await run(['docker', 'rmi', ...pushed]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  /** The registry access a deployer started with `env` builds, as createDeployDeps does. */
  function access(env: Record<string, string>, stagingRepo = `${REGISTRY}/staging`, log = silent) {
    const settings = readDeploySettings({ HOME: work, DOCKER_CONFIG: dockerConfigDir, ...env });
    return createRegistryAccess(settings, stagingRepo, log);
  }
  const onB = (c: ManifestListChild) => ({ ...c, source: { ...c.source, registry: b.host } });
  const authorizations = (p: RegistryProxy) =>
    new Set(p.requests.map((r) => r.authorization).filter(Boolean));

  it('two registries, each with its own account: neither account reaches the other registry', async () => {
    const { registry } = access({
      DEPLOYER_REGISTRY: a.host,
      DEPLOYER_REGISTRY_USER: AUTH_USER,
      DEPLOYER_REGISTRY_PASSWORD_FILE: passwordFile,
      DEPLOYER_REGISTRY_AUTH_FILE: authFile,
    });
    // Staged on B (its account), then the list at A from B's image (both accounts).
    const staged = await registry.writeManifestList(
      parseImageRef(`${b.host}/staging-${id}:amd64`),
      children,
    );
    expect(staged.blobs.copied).toBeGreaterThan(0);
    const fromB = children
      .map(onB)
      .map((c) => ({ ...c, source: { ...c.source, repository: `staging-${id}` } }));
    const result = await registry.writeManifestList(
      parseImageRef(`${a.host}/two-${id}:live`),
      fromB,
    );
    expect(result.blobs.copied).toBeGreaterThan(0);

    expect(authorizations(b)).toEqual(new Set([basic(OTHER)]));
    expect(authorizations(a)).toEqual(
      new Set([basic({ user: AUTH_USER, password: AUTH_PASSWORD })]),
    );
  });

  it('the older two variables alone are the staging registry’s, and say so', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const before = b.requests.length;
    const { registry } = access(
      { DEPLOYER_REGISTRY_USER: AUTH_USER, DEPLOYER_REGISTRY_PASSWORD_FILE: passwordFile },
      `${a.host}/staging`,
      log,
    );
    expect(lines.map((l) => JSON.parse(l) as { msg: string; registry: string })).toEqual([
      expect.objectContaining({
        registry: a.host,
        msg: expect.stringContaining('used for the staging registry only') as string,
      }),
    ]);
    await registry.writeManifestList(parseImageRef(`${a.host}/old-${id}:live`), children);
    const err = await registry
      .writeManifestList(parseImageRef(`${b.host}/old-${id}:live`), children)
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(`^${b.host} refused the push \\(401\\): no credentials for ${b.host}`),
    );
    expect(b.requests.length).toBeGreaterThan(before);
    expect(b.requests.slice(before).filter((r) => r.authorization)).toEqual([]);
  });

  it('an upload location on another host gets neither credentials nor tokens', async () => {
    const front = await new RegistryProxy(AUTH_REGISTRY).start();
    const elsewhere = await new RegistryProxy(AUTH_REGISTRY).start('127.0.0.2');
    front.relocateTo = elsewhere.host;
    try {
      const { registry } = access({
        DEPLOYER_REGISTRY: front.host,
        DEPLOYER_REGISTRY_USER: AUTH_USER,
        DEPLOYER_REGISTRY_PASSWORD_FILE: passwordFile,
      });
      const target = parseImageRef(`${front.host}/moved-${id}:live`);
      const err = await registry.writeManifestList(target, children).catch((e: Error) => e);
      expect((err as Error).message).toBe(
        `${front.host} sent the request on to http://${elsewhere.host}, which asked for ` +
          `credentials (401); those of ${front.host} go to http://${front.host} only`,
      );
      expect(front.requests.some((r) => r.authorization)).toBe(true);
      expect(elsewhere.requests.length).toBeGreaterThan(0);
      expect(elsewhere.requests.filter((r) => r.authorization)).toEqual([]);
    } finally {
      await front.stop();
      await elsewhere.stop();
    }
  });

  describe('token realms', () => {
    const started: { stop(): Promise<void> }[] = [];
    afterAll(async () => {
      for (const s of started.reverse()) await s.stop();
    });

    /** A registry with `auth: token` whose realm is served on `host`, over http or https. */
    async function tokenRegistry(host: string, https: boolean) {
      const realm = await new TokenRealm({ host, https, account: TOKEN_ACCOUNT }).start();
      started.push(realm);
      const server = await new RegistryServer({
        token: {
          realm: realm.realm,
          service: realm.service,
          issuer: realm.issuer,
          rootCertFile: realm.certFile,
        },
      }).start();
      started.push(server);
      return { realm, server };
    }
    function tokenClient(registry: string, extra: Record<string, string> = {}, ca?: string) {
      const settings = readDeploySettings({
        HOME: work,
        DOCKER_CONFIG: dockerConfigDir,
        DEPLOYER_REGISTRY: registry,
        DEPLOYER_REGISTRY_USER: TOKEN_ACCOUNT.user,
        DEPLOYER_REGISTRY_PASSWORD_FILE: tokenPasswordFile,
        ...extra,
      });
      return createRegistryAccess(settings, `${REGISTRY}/staging`, silent, {
        fetch: ca ? fetchTrusting(ca) : undefined,
      }).registry;
    }

    it('a realm on the registry’s own host gets its credentials, over http on loopback', async () => {
      const { realm, server } = await tokenRegistry('127.0.0.1', false);
      const target = parseImageRef(`${server.host}/same-${id}:live`);
      const result = await tokenClient(server.host).writeManifestList(target, children);
      expect(result.blobs.copied).toBeGreaterThan(0);
      expect(realm.withCredentials.length).toBeGreaterThan(0);
      expect(new Set(realm.requests.map((r) => r.authorization))).toEqual(
        new Set([basic(TOKEN_ACCOUNT)]),
      );
    });

    it('a realm on another host over plain http never gets them, even when listed', async () => {
      const { realm, server } = await tokenRegistry('127.0.0.2', false);
      const target = parseImageRef(`${server.host}/http-${id}:live`);
      const client = tokenClient(server.host, { DEPLOYER_REGISTRY_TOKEN_HOSTS: '127.0.0.2' });
      const err = await client.writeManifestList(target, children).catch((e: Error) => e);
      expect((err as Error).message).toBe(
        `${server.host} refused the push (401): the credentials for ${server.host} were not sent ` +
          `to the token service it named, ${realm.realm} (plain http to another host) — if that ` +
          `is ${server.host}'s own token service, list 127.0.0.2:${new URL(realm.realm).port} in ` +
          'DEPLOYER_REGISTRY_TOKEN_HOSTS (https only)',
      );
      expect(realm.requests.length).toBeGreaterThan(0);
      expect(realm.withCredentials).toEqual([]);
    });

    it('a realm on another host over https gets them only when listed', async () => {
      const { realm, server } = await tokenRegistry('127.0.0.2', true);
      const unlisted = tokenClient(server.host, {}, realm.ca);
      const err = await unlisted
        .writeManifestList(parseImageRef(`${server.host}/https-${id}:live`), children)
        .catch((e: Error) => e);
      expect((err as Error).message).toContain(
        'another host, not listed in DEPLOYER_REGISTRY_TOKEN_HOSTS',
      );
      expect(realm.requests.length).toBeGreaterThan(0);
      expect(realm.withCredentials).toEqual([]);

      const listed = tokenClient(
        server.host,
        { DEPLOYER_REGISTRY_TOKEN_HOSTS: '127.0.0.2' },
        realm.ca,
      );
      const target = parseImageRef(`${server.host}/https-${id}:live`);
      const result = await listed.writeManifestList(target, children);
      expect((await listed.headManifest(target)).digest).toBe(result.digest);
      expect(realm.withCredentials.length).toBeGreaterThan(0);
      expect(new Set(realm.withCredentials.map((r) => r.authorization))).toEqual(
        new Set([basic(TOKEN_ACCOUNT)]),
      );
    });
  });
});
