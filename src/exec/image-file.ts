import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import type { ImageRef } from './image-ref.js';
import type { RegistryClient } from './registry.js';

const normalise = (name: string) => name.replace(/^\.?\/+/, '');

/**
 * Streams one file of an image straight from its registry, layer by layer from
 * the top, without pulling the image: `consume` gets the file's bytes as they
 * arrive (the unikernel is copied to its host while it downloads).
 */
export async function streamFileFromImage(
  registry: RegistryClient,
  image: ImageRef,
  path: string,
  consume: (file: Readable, size: number) => Promise<void>,
): Promise<void> {
  const wanted = normalise(path);
  const whiteout = wanted.replace(/([^/]+)$/, '.wh.$1');
  const manifest = await registry.getManifest(image);
  const layers = (
    (manifest.json as { layers?: { digest: string; mediaType: string }[] }).layers ?? []
  )
    .slice()
    .reverse();
  for (const layer of layers) {
    const found = await searchLayer(registry, image, layer, wanted, whiteout, consume);
    if (found === 'found') return;
    if (found === 'deleted') break;
  }
  throw new Error(`${path} is not in ${image.repository}@${image.digest ?? image.tag}`);
}

async function searchLayer(
  registry: RegistryClient,
  image: ImageRef,
  layer: { digest: string; mediaType: string },
  wanted: string,
  whiteout: string,
  consume: (file: Readable, size: number) => Promise<void>,
): Promise<'found' | 'deleted' | 'absent'> {
  const body = Readable.fromWeb(
    (await registry.openBlob(image, layer.digest)) as WebReadableStream<Uint8Array>,
  );
  const tar = extract();
  let result: 'found' | 'deleted' | 'absent' = 'absent';
  tar.on('entry', (header, stream, next) => {
    const name = normalise(header.name);
    if (result === 'absent' && name === wanted && header.type === 'file') {
      result = 'found';
      consume(stream as unknown as Readable, header.size ?? 0).then(
        () => next(),
        (err: Error) => tar.destroy(err),
      );
      return;
    }
    if (name === whiteout) result = 'deleted';
    stream.on('end', () => next());
    stream.resume();
  });
  const gzipped = /gzip/.test(layer.mediaType);
  await (gzipped ? pipeline(body, createGunzip(), tar) : pipeline(body, tar));
  return result;
}
