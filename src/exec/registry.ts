import { createHash } from 'node:crypto';
import { CancelledError } from './errors.js';
import { formatImageRef, isInsecureRegistry, registryBaseUrl, type ImageRef } from './image-ref.js';

/**
 * A small client for the Docker Registry HTTP API v2: enough to read manifests and
 * to write one multi-arch manifest list from per-arch images (`docker manifest
 * create` + `push`). No maintained npm library writes manifests; this is the one
 * module that talks to registries.
 */

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;
const ACCEPT = Object.values(MEDIA_TYPES).join(', ');
const LISTS: readonly string[] = [MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Manifest extends Descriptor {
  /** The bytes as the registry holds them; the digest is their sha256. */
  body: Uint8Array;
  json: unknown;
}

export interface ManifestListChild {
  /** A single-platform image, by digest. */
  source: ImageRef;
  platform: Platform;
}

export interface ManifestListEntry extends Descriptor {
  platform: Platform;
}

export interface ManifestListResult {
  digest: string;
  mediaType: string;
  /** How the children's blobs reached the target repository. */
  blobs: { mounted: number; copied: number; present: number };
}

/** What the client sends a registry: the password stays in this object. */
export interface Credentials {
  username: string;
  password: string;
  /** The file they came from, named when the registry rejects them. */
  source?: string;
}

export interface RegistryClientOptions {
  /** The credentials for a registry (`docker.io`, `host:port`), if any. */
  credentials?: (registry: string) => Credentials | undefined | Promise<Credentials | undefined>;
  /** Whether to use plain HTTP; default: loopback registries only. */
  insecure?: (registry: string) => boolean;
  /** Per request (manifests, uploads started, tokens). Default 30 s. */
  timeoutMs?: number;
  /** Per blob transfer (a streamed layer). Default 30 min. */
  transferTimeoutMs?: number;
  /** Named in "no credentials" errors; e.g. `/root/.docker/config.json`. */
  dockerConfigFile?: string;
  fetch?: typeof fetch;
}

/** A registry failed, refused or could not be reached; `status` is unset when there was no answer. */
export class RegistryError extends Error {
  readonly registry: string;
  readonly method: string;
  /** The URL's path, without query (upload URLs carry state in it). */
  readonly path: string;
  readonly status?: number;
  /** The registry's error code, e.g. `MANIFEST_UNKNOWN`, `DENIED`. */
  readonly code?: string;

  constructor(
    message: string,
    at: { registry: string; method: string; path: string; status?: number; code?: string },
  ) {
    super(message);
    this.name = 'RegistryError';
    this.registry = at.registry;
    this.method = at.method;
    this.path = at.path;
    this.status = at.status;
    this.code = at.code;
  }

  /** No answer, 429 or 5xx: worth another try. Refusals and missing manifests are not. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

/** The one wording for a registry that refuses a pull or push for lack of (good) credentials. */
export function refusedMessage(f: {
  registry: string;
  repository: string;
  action: 'pull' | 'push';
  status: number;
  credentials?: { username: string; source?: string };
  dockerConfigFile: string;
}): string {
  const head = `${f.registry} refused the ${f.action} (${f.status})`;
  if (!f.credentials)
    return (
      `${head}: no credentials for ${f.registry} — provide them in ${f.dockerConfigFile} ` +
      `(docker login ${f.registry}) or with DEPLOYER_REGISTRY_USER and DEPLOYER_REGISTRY_PASSWORD_FILE`
    );
  const who = `user ${f.credentials.username}${f.credentials.source ? ` (from ${f.credentials.source})` : ''}`;
  if (f.status === 403)
    return `${head}: ${who} may not ${f.action} ${f.registry}/${f.repository} — grant it access or provide other credentials`;
  return `${head}: the registry rejected the password of ${who} — correct it (docker login ${f.registry})`;
}

/**
 * The manifest list (Docker, when every child is a Docker v2 manifest) or OCI image
 * index (otherwise) over `children`, and its exact bytes.
 */
export function manifestListBody(children: readonly ManifestListEntry[]): {
  mediaType: string;
  body: string;
} {
  const mediaType = children.every((c) => c.mediaType === MEDIA_TYPES.dockerManifest)
    ? MEDIA_TYPES.dockerList
    : MEDIA_TYPES.ociIndex;
  const manifests = children.map((c) => ({
    mediaType: c.mediaType,
    digest: c.digest,
    size: c.size,
    platform: {
      architecture: c.platform.architecture,
      os: c.platform.os,
      ...(c.platform.variant ? { variant: c.platform.variant } : {}),
    },
  }));
  // Three-space indent, as the Docker CLI writes manifest lists.
  return { mediaType, body: JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 3) };
}

type Action = 'pull' | 'push';
type Repo = Pick<ImageRef, 'registry' | 'repository'>;

interface Call {
  method: string;
  repo: Repo;
  /** `/v2/...` on the registry, or an absolute URL it gave (upload location). */
  url: string;
  action: Action;
  scopes: string[];
  ok: number[];
  headers?: Record<string, string>;
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  transfer?: boolean;
  signal?: AbortSignal;
}

type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

const pullScope = (r: Repo) => `repository:${r.repository}:pull`;
const pushScope = (r: Repo) => `repository:${r.repository}:pull,push`;
const sha256 = (bytes: Uint8Array | string) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class RegistryClient {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly transferTimeoutMs: number;
  private readonly dockerConfigFile: string;
  private readonly insecure: (registry: string) => boolean;
  private readonly lookup: NonNullable<RegistryClientOptions['credentials']>;
  private readonly creds = new Map<string, Promise<Credentials | undefined>>();
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(opts: RegistryClientOptions = {}) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.transferTimeoutMs = opts.transferTimeoutMs ?? 30 * 60_000;
    this.dockerConfigFile = opts.dockerConfigFile ?? '$DOCKER_CONFIG/config.json';
    this.insecure = opts.insecure ?? ((r) => isInsecureRegistry(r));
    this.lookup = opts.credentials ?? (() => undefined);
  }

  /** The digest, media type and size of the manifest at `ref` (its digest, else its tag, else `latest`). */
  async headManifest(ref: ImageRef, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const res = await this.send(manifestCall('HEAD', ref, opts.signal));
    const digest = res.headers.get('docker-content-digest');
    const size = Number(res.headers.get('content-length'));
    if (!digest || !Number.isInteger(size)) {
      const full = await this.getManifest(ref, opts);
      return { digest: full.digest, mediaType: full.mediaType, size: full.size };
    }
    return { digest, mediaType: contentType(res), size };
  }

  /** The manifest at `ref`, with its exact bytes; a digest in `ref` is checked against them. */
  async getManifest(ref: ImageRef, opts: { signal?: AbortSignal } = {}): Promise<Manifest> {
    const req = manifestCall('GET', ref, opts.signal);
    const res = await this.send(req);
    const body = new Uint8Array(await this.guard(req, () => res.arrayBuffer()));
    const digest = sha256(body);
    if (ref.digest && ref.digest !== digest)
      throw this.error(
        req,
        `${formatImageRef(ref)}: the registry sent a manifest with digest ${digest}`,
      );
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      throw this.error(req, `${formatImageRef(ref)}: the manifest is not JSON`);
    }
    const mediaType = contentType(res) || String((json as { mediaType?: string }).mediaType ?? '');
    return { digest, mediaType, size: body.byteLength, body, json };
  }

  /**
   * Writes one manifest list at `target` (which needs a tag) over single-platform
   * images: each child's blobs are mounted (same registry) or streamed into the
   * target repository unless already there, then its manifest is put by digest with
   * its original bytes, then the list is put at the tag.
   */
  async writeManifestList(
    target: ImageRef,
    children: readonly ManifestListChild[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<ManifestListResult> {
    if (!target.tag) throw new TypeError(`${formatImageRef(target)}: a manifest list needs a tag`);
    if (children.length === 0) throw new TypeError('a manifest list needs at least one image');
    const blobs = { mounted: 0, copied: 0, present: 0 };
    const entries: ManifestListEntry[] = [];
    for (const child of children) {
      if (!child.source.digest)
        throw new TypeError(`${formatImageRef(child.source)}: name the image by digest`);
      const manifest = await this.getManifest(child.source, opts);
      if (LISTS.includes(manifest.mediaType))
        throw new TypeError(
          `${formatImageRef(child.source)} is a manifest list; expected a single-platform image`,
        );
      for (const blob of blobsOf(manifest, child.source)) {
        blobs[await this.copyBlob(child.source, target, blob, opts.signal)]++;
      }
      await this.putManifest(
        target,
        manifest.digest,
        manifest.mediaType,
        manifest.body,
        opts.signal,
      );
      entries.push({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        platform: child.platform,
      });
    }
    const list = manifestListBody(entries);
    const digest = await this.putManifest(
      target,
      target.tag,
      list.mediaType,
      list.body,
      opts.signal,
    );
    return { digest, mediaType: list.mediaType, blobs };
  }

  private async putManifest(
    repo: Repo,
    reference: string,
    mediaType: string,
    body: Uint8Array | string,
    signal?: AbortSignal,
  ): Promise<string> {
    const req: Call = {
      method: 'PUT',
      repo,
      url: `/v2/${repo.repository}/manifests/${reference}`,
      action: 'push',
      scopes: [pushScope(repo)],
      ok: [201],
      headers: { 'Content-Type': mediaType },
      body,
      signal,
    };
    const res = await this.send(req);
    await res.body?.cancel();
    const digest = sha256(body);
    const stored = res.headers.get('docker-content-digest');
    if (stored && stored !== digest)
      throw this.error(
        req,
        `${repo.registry} stored the manifest as ${stored}, expected ${digest}`,
      );
    return digest;
  }

  private async copyBlob(
    source: ImageRef,
    target: Repo,
    blob: Descriptor,
    signal?: AbortSignal,
  ): Promise<'mounted' | 'copied' | 'present'> {
    const sameRegistry = source.registry === target.registry;
    if (sameRegistry && source.repository === target.repository) return 'present';
    const uploads = `/v2/${target.repository}/blobs/uploads/`;
    const head = await this.send({
      method: 'HEAD',
      repo: target,
      url: `/v2/${target.repository}/blobs/${blob.digest}`,
      action: 'push',
      scopes: [pushScope(target)],
      ok: [200, 404],
      signal,
    });
    if (head.status === 200) return 'present';

    let location: string | null = null;
    if (sameRegistry) {
      const query = new URLSearchParams({ mount: blob.digest, from: source.repository });
      const mount = await this.send({
        method: 'POST',
        repo: target,
        url: `${uploads}?${query}`,
        action: 'push',
        scopes: [pushScope(target), pullScope(source)],
        ok: [201, 202],
        signal,
      });
      await mount.body?.cancel();
      if (mount.status === 201) return 'mounted';
      location = mount.headers.get('location');
    }
    if (!location) {
      const start = await this.send({
        method: 'POST',
        repo: target,
        url: uploads,
        action: 'push',
        scopes: [pushScope(target)],
        ok: [202],
        signal,
      });
      await start.body?.cancel();
      location = start.headers.get('location');
      if (!location)
        throw this.error({ method: 'POST', repo: target, url: uploads }, 'no upload location');
    }

    const get = await this.send({
      method: 'GET',
      repo: source,
      url: `/v2/${source.repository}/blobs/${blob.digest}`,
      action: 'pull',
      scopes: [pullScope(source)],
      ok: [200],
      transfer: true,
      signal,
    });
    const put = new URL(location, this.base(target.registry));
    put.searchParams.set('digest', blob.digest);
    try {
      const res = await this.send({
        method: 'PUT',
        repo: target,
        url: put.href,
        action: 'push',
        scopes: [pushScope(target)],
        ok: [201],
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(blob.size),
        },
        body: get.body ?? new Uint8Array(),
        transfer: true,
        signal,
      });
      await res.body?.cancel();
    } finally {
      await get.body?.cancel().catch(() => undefined);
    }
    return 'copied';
  }

  /** A blob of the image's repository, streamed (layers can be large). */
  async openBlob(
    ref: ImageRef,
    digest: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send({
      method: 'GET',
      repo: ref,
      url: `/v2/${ref.repository}/blobs/${digest}`,
      action: 'pull',
      scopes: [pullScope(ref)],
      ok: [200],
      transfer: true,
      signal: opts.signal,
    });
    if (!res.body)
      throw this.error(
        { method: 'GET', repo: ref, url: `/v2/${ref.repository}/blobs/${digest}` },
        'empty body',
      );
    return res.body;
  }

  /** One request with auth: anonymous or cached first; on 401, answer the challenge and retry once. */
  private async send(req: Call): Promise<Response> {
    const url = req.url.startsWith('/') ? this.base(req.repo.registry) + req.url : req.url;
    let auth = await this.authorization(req.repo.registry, req.scopes, req);
    for (let attempt = 0; ; attempt++) {
      const res = await this.guard(req, (signal) =>
        this.fetch(url, {
          method: req.method,
          headers: { ...req.headers, ...(auth ? { Authorization: auth } : {}) },
          body: req.body,
          signal,
          ...(req.body instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit),
      );
      if (res.status === 401 && attempt === 0 && !(req.body instanceof ReadableStream)) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        await res.body?.cancel();
        if (challenge) {
          this.challenges.set(req.repo.registry, challenge.challenge);
          const scopes = [...new Set([...req.scopes, ...challenge.scopes])];
          this.tokens.delete(tokenKey(req.repo.registry, scopes));
          const next = await this.authorization(req.repo.registry, scopes, req);
          if (next && next !== auth) {
            auth = next;
            continue;
          }
        }
        throw await this.refused(req, 401);
      }
      if (req.ok.includes(res.status)) return res;
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw await this.refused(req, res.status);
      }
      throw await this.failure(req, res);
    }
  }

  /** The Authorization header for `scopes` on `registry`, from what its last challenge asked for. */
  private async authorization(
    registry: string,
    scopes: string[],
    req: Call,
  ): Promise<string | undefined> {
    const challenge = this.challenges.get(registry);
    if (!challenge) return undefined;
    const creds = await this.credentials(registry);
    const basic = creds
      ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
      : undefined;
    if (challenge.scheme === 'basic') return basic;

    const key = tokenKey(registry, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const scope of [...scopes].sort()) url.searchParams.append('scope', scope);
    const tokenReq: Call = { ...req, method: 'GET', url: url.href, ok: [200], body: undefined };
    const res = await this.guard(tokenReq, (signal) =>
      this.fetch(url, { headers: basic ? { Authorization: basic } : {}, signal }),
    );
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw await this.refused(req, res.status);
    }
    if (res.status !== 200) throw await this.failure(tokenReq, res);
    const json = (await this.guard(tokenReq, () => res.json())) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = json.token ?? json.access_token;
    if (!token) throw this.error(tokenReq, `the token service of ${registry} sent no token`);
    const seconds = Math.max(Number(json.expires_in) || 60, 30);
    this.tokens.set(key, { token, expires: Date.now() + (seconds - 15) * 1000 });
    return `Bearer ${token}`;
  }

  private credentials(registry: string): Promise<Credentials | undefined> {
    let found = this.creds.get(registry);
    if (!found) {
      found = Promise.resolve(this.lookup(registry));
      this.creds.set(registry, found);
    }
    return found;
  }

  private base(registry: string): string {
    return registryBaseUrl(registry, this.insecure(registry));
  }

  /** Runs `fn` under the request's timeout (and the caller's signal); network failures become RegistryErrors. */
  private async guard<T>(req: Call, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = req.transfer ? this.transferTimeoutMs : this.timeoutMs;
    const timeout = AbortSignal.timeout(ms);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    try {
      return await fn(signal);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
      if (timeout.aborted || (err as Error).name === 'TimeoutError')
        throw this.error(req, `${req.repo.registry} did not answer within ${ms / 1000} s`);
      const origin = req.url.startsWith('/')
        ? this.base(req.repo.registry)
        : new URL(req.url).origin;
      throw this.error(req, unreachable(req.repo.registry, origin, err));
    }
  }

  private async refused(req: Call, status: number): Promise<RegistryError> {
    const creds = await this.credentials(req.repo.registry);
    const message = refusedMessage({
      registry: req.repo.registry,
      repository: req.repo.repository,
      action: req.action,
      status,
      credentials: creds,
      dockerConfigFile: this.dockerConfigFile,
    });
    return this.error(req, message, status);
  }

  private async failure(req: Call, res: Response): Promise<RegistryError> {
    const text = req.method === 'HEAD' ? '' : await res.text().catch(() => '');
    let code: string | undefined;
    let detail = text.slice(0, 300).trim();
    try {
      const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] })
        .errors?.[0];
      if (first) {
        code = first.code;
        detail = [first.code, first.message].filter(Boolean).join(': ');
      }
    } catch {
      // not JSON: keep the text
    }
    const message = `${req.repo.registry} answered ${res.status} to ${req.method} ${pathOf(req.url)}${detail ? `: ${detail}` : ''}`;
    return this.error(req, message, res.status, code);
  }

  private error(
    req: Pick<Call, 'method' | 'repo' | 'url'>,
    message: string,
    status?: number,
    code?: string,
  ): RegistryError {
    return new RegistryError(message, {
      registry: req.repo.registry,
      method: req.method,
      path: pathOf(req.url),
      status,
      code,
    });
  }
}

function reference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

function contentType(res: Response): string {
  return (res.headers.get('content-type') ?? '').split(';')[0].trim();
}

function pathOf(url: string): string {
  return url.startsWith('/') ? url.split('?')[0] : new URL(url).pathname;
}

function tokenKey(registry: string, scopes: string[]): string {
  return `${registry} ${[...scopes].sort().join(' ')}`;
}

/** The config and the distributable layers of an image manifest. */
function blobsOf(manifest: Manifest, source: ImageRef): Descriptor[] {
  const json = manifest.json as {
    config?: Descriptor;
    layers?: (Descriptor & { urls?: unknown })[];
  };
  if (!json.config || !Array.isArray(json.layers))
    throw new TypeError(
      `${formatImageRef(source)}: unsupported manifest (${manifest.mediaType || 'no media type'})`,
    );
  const layers = json.layers.filter(
    (l) => !/foreign|nondistributable/.test(l.mediaType) && !l.urls,
  );
  const seen = new Set<string>();
  return [json.config, ...layers].filter((b) => !seen.has(b.digest) && seen.add(b.digest));
}

/** `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
function parseChallenge(
  header: string | null,
): { challenge: Challenge; scopes: string[] } | undefined {
  if (!header) return undefined;
  const scheme = header.trim().split(/\s+/)[0].toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1].toLowerCase()] = m[2];
  if (scheme === 'basic') return { challenge: { scheme: 'basic' }, scopes: [] };
  if (scheme !== 'bearer' || !params.realm) return undefined;
  return {
    challenge: { scheme: 'bearer', realm: params.realm, service: params.service },
    scopes: params.scope ? params.scope.split(' ') : [],
  };
}

/** Why a request got no answer, in words: "cannot reach 127.0.0.1:5999 (…): connection refused". */
function unreachable(registry: string, base: string, err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused (is the registry running?)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'no such host'
        : code?.startsWith('ERR_SSL') || code === 'EPROTO'
          ? `TLS failed (${code}); if it speaks plain HTTP, list it in DEPLOYER_INSECURE_REGISTRIES`
          : (code ?? cause?.message ?? (err as Error).message);
  return `cannot reach ${registry} (${base}): ${why}`;
}

/** Reading the manifest at `ref`: by digest, else tag, in every format we accept. */
const manifestCall = (method: 'GET' | 'HEAD', ref: ImageRef, signal?: AbortSignal): Call => ({
  method,
  repo: ref,
  url: `/v2/${ref.repository}/manifests/${reference(ref)}`,
  action: 'pull',
  scopes: [pullScope(ref)],
  ok: [200],
  headers: { Accept: ACCEPT },
  signal,
});
