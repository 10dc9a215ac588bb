import { formatImageRef, type ImageRef } from '../image-ref.js';
import { MEDIA_TYPES, type Descriptor, type Manifest, type ManifestListEntry } from './types.js';

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

/** The config and the distributable layers of an image manifest. */
export function blobsOf(manifest: Manifest, source: ImageRef): Descriptor[] {
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
