import { createHash } from 'node:crypto';
import { formatImageRef, type ImageRef } from '../image-ref.js';
import { copyBlob, openBlob } from './blobs.js';
import { blobsOf, manifestListBody } from './manifest-list.js';
import { RegistrySession } from './session.js';
import {
  ACCEPT,
  LISTS,
  pullScope,
  pushScope,
  type Call,
  type Descriptor,
  type Manifest,
  type ManifestListChild,
  type ManifestListEntry,
  type ManifestListResult,
  type RegistryClientOptions,
  type Repo,
} from './types.js';

const sha256 = (bytes: Uint8Array | string) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * A small client for the Docker Registry HTTP API v2: enough to read manifests and
 * to write one multi-arch manifest list from per-arch images (`docker manifest
 * create` + `push`). No maintained npm library writes manifests; this is the one
 * module that talks to registries.
 */
export class RegistryClient {
  private readonly session: RegistrySession;

  constructor(opts: RegistryClientOptions = {}) {
    this.session = new RegistrySession(opts);
  }

  /** The digest, media type and size of the manifest at `ref` (its digest, else its tag, else `latest`). */
  async headManifest(ref: ImageRef, opts: { signal?: AbortSignal } = {}): Promise<Descriptor> {
    const res = await this.session.send(manifestCall('HEAD', ref, opts.signal));
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
    const res = await this.session.send(req);
    const body = new Uint8Array(await this.session.guard(req, () => res.arrayBuffer()));
    const digest = sha256(body);
    if (ref.digest && ref.digest !== digest)
      throw this.session.error(
        req,
        `${formatImageRef(ref)}: the registry sent a manifest with digest ${digest}`,
      );
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      throw this.session.error(req, `${formatImageRef(ref)}: the manifest is not JSON`);
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
        blobs[await copyBlob(this.session, child.source, target, blob, opts.signal)]++;
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

  /** A blob of the image's repository, streamed (layers can be large). */
  openBlob(
    ref: ImageRef,
    digest: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    return openBlob(this.session, ref, digest, opts.signal);
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
    const res = await this.session.send(req);
    await res.body?.cancel();
    const digest = sha256(body);
    const stored = res.headers.get('docker-content-digest');
    if (stored && stored !== digest)
      throw this.session.error(
        req,
        `${repo.registry} stored the manifest as ${stored}, expected ${digest}`,
      );
    return digest;
  }
}

function contentType(res: Response): string {
  return (res.headers.get('content-type') ?? '').split(';')[0].trim();
}

/** Reading the manifest at `ref`: by digest, else tag, in every format we accept. */
const manifestCall = (method: 'GET' | 'HEAD', ref: ImageRef, signal?: AbortSignal): Call => ({
  method,
  repo: ref,
  url: `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`,
  action: 'pull',
  scopes: [pullScope(ref)],
  ok: [200],
  headers: { Accept: ACCEPT },
  signal,
});
