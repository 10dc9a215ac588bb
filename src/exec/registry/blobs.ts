import type { ImageRef } from '../image-ref.js';
import type { RegistrySession } from './session.js';
import { pullScope, pushScope, type Descriptor, type Repo } from './types.js';

/**
 * Makes `blob` of `source` present in the `target` repository: already there, mounted
 * (same registry), or streamed from the source into a new upload.
 */
export async function copyBlob(
  session: RegistrySession,
  source: ImageRef,
  target: Repo,
  blob: Descriptor,
  signal?: AbortSignal,
): Promise<'mounted' | 'copied' | 'present'> {
  const sameRegistry = source.registry === target.registry;
  if (sameRegistry && source.repository === target.repository) return 'present';
  const uploads = `/v2/${target.repository}/blobs/uploads/`;
  const head = await session.send({
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
    const mount = await session.send({
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
    const start = await session.send({
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
      throw session.error({ method: 'POST', repo: target, url: uploads }, 'no upload location');
  }

  const get = await session.send({
    method: 'GET',
    repo: source,
    url: `/v2/${source.repository}/blobs/${blob.digest}`,
    action: 'pull',
    scopes: [pullScope(source)],
    ok: [200],
    transfer: true,
    signal,
  });
  const put = new URL(location, session.base(target.registry));
  put.searchParams.set('digest', blob.digest);
  try {
    const res = await session.send({
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
export async function openBlob(
  session: RegistrySession,
  ref: ImageRef,
  digest: string,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const call = {
    method: 'GET',
    repo: ref,
    url: `/v2/${ref.repository}/blobs/${digest}`,
    action: 'pull' as const,
    scopes: [pullScope(ref)],
    ok: [200],
    transfer: true,
    signal,
  };
  const res = await session.send(call);
  if (!res.body) throw session.error(call, 'empty body');
  return res.body;
}
