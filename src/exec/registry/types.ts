import type { ImageRef } from '../image-ref.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;
/** Every manifest format the client reads. */
export const ACCEPT = Object.values(MEDIA_TYPES).join(', ');
/** The multi-platform formats. */
export const LISTS: readonly string[] = [MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex];

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
  /**
   * Token services on other hosts (`host` or `host:port`, https only) that may receive a
   * registry's credentials when its challenge names them; Docker Hub's is built in.
   */
  tokenHosts?: readonly string[];
  /** Named in "no credentials" errors; e.g. `/root/.docker/config.json`. */
  dockerConfigFile?: string;
  fetch?: typeof fetch;
}

export type Action = 'pull' | 'push';
export type Repo = Pick<ImageRef, 'registry' | 'repository'>;

/** One request to a registry, described; the session sends it with the right auth. */
export interface Call {
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

export const pullScope = (r: Repo) => `repository:${r.repository}:pull`;
export const pushScope = (r: Repo) => `repository:${r.repository}:pull,push`;
