import type Docker from 'dockerode';
import { CancelledError, EngineError } from '../errors.js';
import { engineConnectionError } from './connection.js';
import { followProgress } from './progress.js';

/** Registry credentials as the Engine API takes them (the X-Registry-Auth header). */
export interface EngineAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** Tags a local image and pushes it; returns the digest the registry gave it. */
export async function pushImage(
  docker: Docker,
  localTag: string,
  remote: { repository: string; tag: string },
  auth: EngineAuth | undefined,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  let digest: string | undefined;
  try {
    await docker.getImage(localTag).tag({ repo: remote.repository, tag: remote.tag });
    const stream = (await docker.getImage(`${remote.repository}:${remote.tag}`).push({
      tag: remote.tag,
      ...(auth ? { authconfig: auth } : {}),
      abortSignal: signal,
    })) as NodeJS.ReadableStream;
    await followProgress(stream, (event) => {
      const aux = event.aux as { Digest?: string } | undefined;
      if (aux?.Digest) digest = aux.Digest;
      else if (event.status && !event.progressDetail?.current)
        onLine(`${event.id ? `${event.id}: ` : ''}${event.status}`);
    });
  } catch (err) {
    if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
    throw engineConnectionError(docker, err, 'the push');
  }
  if (!digest)
    throw new EngineError(`the engine reported no digest for ${remote.repository}:${remote.tag}`);
  return digest;
}

/** Pulls `image` (a reference by digest) on that engine, with registry credentials when given. */
export async function pullImage(
  docker: Docker,
  image: string,
  auth: EngineAuth | undefined,
  onLine: (line: string) => void,
): Promise<void> {
  const stream = (await docker.pull(
    image,
    auth ? { authconfig: auth } : {},
  )) as NodeJS.ReadableStream;
  await followProgress(stream, (event) => {
    if (event.status && !event.progressDetail?.current)
      onLine(`${event.id ? `${event.id}: ` : ''}${event.status}`);
  });
}
