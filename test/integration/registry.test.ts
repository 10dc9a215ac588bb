import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatImageRef, parseImageRef, type ImageRef } from '../../src/exec/image-ref.js';
import {
  MEDIA_TYPES,
  RegistryClient,
  RegistryError,
  type ManifestListChild,
} from '../../src/exec/registry.js';
import { readRegistryCredentials } from '../../src/exec/registry-credentials.js';
import { run } from '../../src/exec/run.js';

// Real registries from scripts/services.sh: docker-registry (distribution 2.8) with and
// without htpasswd auth. Every run uses fresh repository names.
const REGISTRY = process.env.TEST_REGISTRY ?? '127.0.0.1:5000';
const AUTH_REGISTRY = process.env.TEST_AUTH_REGISTRY ?? '127.0.0.1:5001';
const AUTH_USER = process.env.TEST_AUTH_REGISTRY_USER ?? 'deployer';
const AUTH_PASSWORD = process.env.TEST_AUTH_REGISTRY_PASSWORD ?? 'deployer-test-password';

const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const ARCHS = ['amd64', 'arm64'] as const;

interface List {
  mediaType: string;
  manifests: { mediaType: string; digest: string; size: number; platform: object }[];
}

describe('RegistryClient against docker-registry', () => {
  const work = mkdtempSync(join(tmpdir(), 'deployer-registry-'));
  const dockerConfigDir = join(work, 'docker-config');
  const dockerConfigFile = join(dockerConfigDir, 'config.json');
  const staging = `staging-${id}`;
  const children: ManifestListChild[] = [];
  const pushed: string[] = [];

  beforeAll(async () => {
    mkdirSync(dockerConfigDir);
    writeFileSync(
      dockerConfigFile,
      JSON.stringify({
        auths: {
          [AUTH_REGISTRY]: {
            auth: Buffer.from(`${AUTH_USER}:${AUTH_PASSWORD}`).toString('base64'),
          },
        },
      }),
    );
    const anonymous = new RegistryClient();
    for (const arch of ARCHS) {
      const ctx = join(work, arch);
      mkdirSync(ctx);
      writeFileSync(join(ctx, 'arch.txt'), `${arch} ${id}\n`);
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY arch.txt /arch.txt\n');
      const tag = `${REGISTRY}/${staging}:a-${arch}`;
      await run(['docker', 'build', '-q', '--platform', `linux/${arch}`, '-t', tag, ctx], {
        env: { DOCKER_BUILDKIT: '0' },
      });
      pushed.push(tag);
      await run(['docker', 'push', tag]);
      const { digest } = await anonymous.headManifest(parseImageRef(tag));
      children.push({
        source: { registry: REGISTRY, repository: staging, digest },
        platform: { os: 'linux', architecture: arch },
      });
    }
  });
  afterAll(async () => {
    if (pushed.length) await run(['docker', 'rmi', ...pushed]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  /** The list at `target`, checked against the children it was written from. */
  async function expectList(client: RegistryClient, target: ImageRef, digest: string) {
    const head = await client.headManifest(target);
    expect(head).toMatchObject({ digest, mediaType: MEDIA_TYPES.dockerList });
    const got = await client.getManifest(target);
    expect(got.digest).toBe(digest);
    expect(got.size).toBe(head.size);
    const list = got.json as List;
    expect(list.mediaType).toBe(MEDIA_TYPES.dockerList);
    expect(list.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux' },
    ]);
    expect(list.manifests.map((m) => m.digest)).toEqual(children.map((c) => c.source.digest));
    for (const m of list.manifests) {
      expect(m.mediaType).toBe(MEDIA_TYPES.dockerManifest);
      // Each child is in the target repository, by digest, byte for byte.
      const child = await client.getManifest({ ...target, tag: undefined, digest: m.digest });
      expect(child.size).toBe(m.size);
      expect(child.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    }
    return list;
  }

  it('writes the list on the same registry by mounting blobs, and again as a no-op', async () => {
    const client = new RegistryClient({ timeoutMs: 10_000 });
    const target = parseImageRef(`${REGISTRY}/app-${id}:live`);
    const first = await client.writeManifestList(target, children);
    expect(first.mediaType).toBe(MEDIA_TYPES.dockerList);
    expect(first.blobs).toEqual({ mounted: 4, copied: 0, present: 0 });
    await expectList(client, target, first.digest);

    const again = await client.writeManifestList(target, children);
    expect(again).toEqual({ ...first, blobs: { mounted: 0, copied: 0, present: 4 } });

    // The Docker CLI reads it back as a two-platform list.
    const inspected = JSON.parse(
      await run(['docker', 'manifest', 'inspect', '--insecure', formatImageRef(target)]),
    ) as List;
    expect(inspected.mediaType).toBe(MEDIA_TYPES.dockerList);
    expect(inspected.manifests.map((m) => m.digest)).toEqual(children.map((c) => c.source.digest));
  });

  it('copies blobs across registries to one with htpasswd auth, credentials from config.json', async () => {
    const client = new RegistryClient({
      credentials: (registry) => readRegistryCredentials(registry, { dockerConfigDir }),
      dockerConfigFile,
    });
    const target = parseImageRef(`${AUTH_REGISTRY}/app-${id}:live`);
    const result = await client.writeManifestList(target, children);
    expect(result.blobs).toEqual({ mounted: 0, copied: 4, present: 0 });
    const list = await expectList(client, target, result.digest);

    // The copied config blob is the arm64 one, intact.
    const arm = await client.getManifest({
      ...target,
      tag: undefined,
      digest: list.manifests[1].digest,
    });
    const config = (arm.json as { config: { digest: string } }).config.digest;
    const res = await fetch(`http://${AUTH_REGISTRY}/v2/${target.repository}/blobs/${config}`, {
      headers: {
        Authorization: `Basic ${Buffer.from(`${AUTH_USER}:${AUTH_PASSWORD}`).toString('base64')}`,
      },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { architecture: string }).architecture).toBe('arm64');
  });

  it('without credentials, the refusal names what to provide', async () => {
    const client = new RegistryClient({ dockerConfigFile: '/etc/deployer/docker/config.json' });
    const target = parseImageRef(`${AUTH_REGISTRY}/app-${id}-noauth:live`);
    const err = await client.writeManifestList(target, children).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ status: 401, registry: AUTH_REGISTRY, retryable: false });
    expect((err as Error).message).toBe(
      `${AUTH_REGISTRY} refused the push (401): no credentials for ${AUTH_REGISTRY} — provide them ` +
        `in /etc/deployer/docker/config.json (docker login ${AUTH_REGISTRY}), in ` +
        `DEPLOYER_REGISTRY_AUTH_FILE, or with DEPLOYER_REGISTRY=${AUTH_REGISTRY}, ` +
        'DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE',
    );
  });

  it('with a wrong password, the refusal names the file it came from and not the password', async () => {
    const secret = join(work, 'hub-password');
    writeFileSync(secret, 'not-the-password\n');
    const client = new RegistryClient({
      credentials: (registry) =>
        readRegistryCredentials(registry, {
          dockerConfigDir,
          account: { registry: AUTH_REGISTRY, user: AUTH_USER, passwordFile: secret },
        }),
    });
    const target = parseImageRef(`${AUTH_REGISTRY}/app-${id}-badauth:live`);
    const err = await client.writeManifestList(target, children).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${AUTH_REGISTRY} refused the push \\(401\\): .*user ${AUTH_USER} \\(from ${secret}\\)`,
      ),
    );
    expect((err as Error).message).not.toContain('not-the-password');
  });

  it('reports a missing manifest as a 404 RegistryError with its path', async () => {
    const client = new RegistryClient();
    const ref = parseImageRef(`${REGISTRY}/${staging}:no-such-tag`);
    await expect(client.getManifest(ref)).rejects.toMatchObject({
      name: 'RegistryError',
      status: 404,
      code: 'MANIFEST_UNKNOWN',
      path: `/v2/${staging}/manifests/no-such-tag`,
    });
    await expect(client.headManifest(ref)).rejects.toMatchObject({ status: 404 });
  });

  it('a registry that is down is "cannot reach", quickly', async () => {
    const client = new RegistryClient({ timeoutMs: 5_000 });
    const started = Date.now();
    const err = await client
      .headManifest(parseImageRef('127.0.0.1:5999/app:live'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(/^cannot reach 127\.0\.0\.1:5999 .*connection refused/);
    expect((err as RegistryError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a registry that accepts connections but never answers times out', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const registry = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const client = new RegistryClient({ timeoutMs: 300 });
      const started = Date.now();
      await expect(client.headManifest(parseImageRef(`${registry}/app:live`))).rejects.toThrow(
        `${registry} did not answer within 0.3 s`,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  describe('behind a Bearer token service', () => {
    let proxy: Server;
    let registry: string;
    const tokenRequests: { scopes: string[]; basic: boolean }[] = [];

    beforeAll(async () => {
      ({ server: proxy, registry } = await bearerProxy(REGISTRY, tokenRequests));
    });
    afterAll(() => new Promise((r) => proxy?.close(r)));

    it('gets one token per scope set (with Basic credentials) and mounts blobs', async () => {
      const client = new RegistryClient({
        credentials: () => ({ username: 'bot', password: 'pw' }),
      });
      // The staging images, as seen through the proxy.
      const viaProxy = children.map((c) => ({ ...c, source: { ...c.source, registry } }));
      const target = parseImageRef(`${registry}/app-${id}-bearer:live`);
      const result = await client.writeManifestList(target, viaProxy);
      expect(result.blobs).toEqual({ mounted: 4, copied: 0, present: 0 });
      expect((await client.headManifest(target)).digest).toBe(result.digest);

      const sets = tokenRequests.map((t) => t.scopes.join(' '));
      expect(sets).toEqual([
        `repository:${staging}:pull`,
        `repository:${target.repository}:pull,push`,
        `repository:${target.repository}:pull,push repository:${staging}:pull`,
        `repository:${target.repository}:pull`,
      ]);
      expect(tokenRequests.every((t) => t.basic)).toBe(true);
    });
  });
});

/**
 * A Bearer-token front for a plain registry, like Docker Hub's or GHCR's: 401 with a
 * challenge unless the token grants the repository's scope (and, for a mount, pull on
 * the source); tokens from its own `/token` realm.
 */
async function bearerProxy(
  upstream: string,
  tokenRequests: { scopes: string[]; basic: boolean }[],
): Promise<{ server: Server; registry: string }> {
  const [upstreamHost, upstreamPort] = upstream.split(':');
  const granted = new Map<string, string[]>();
  const allows = (scopes: string[], repo: string, action: string) =>
    scopes.some((s) => {
      const [kind, name, actions] = s.split(':');
      return kind === 'repository' && name === repo && actions.split(',').includes(action);
    });
  let port = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (url.pathname === '/token') {
      const scopes = url.searchParams.getAll('scope');
      tokenRequests.push({ scopes, basic: /^Basic /.test(req.headers.authorization ?? '') });
      const token = `token-${granted.size}`;
      granted.set(token, scopes);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const scopes = granted.get(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const from = url.searchParams.get('from');
    if (!scopes || !allows(scopes, repo, action) || (from && !allows(scopes, from, 'pull'))) {
      const wanted = `repository:${repo}:${action === 'push' ? 'pull,push' : 'pull'}`;
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test",scope="${wanted}"`,
      });
      res.end();
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = request(
      {
        host: upstreamHost,
        port: Number(upstreamPort),
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return { server, registry: `127.0.0.1:${port}` };
}
