import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { BuildkitLogFormatter, decodeTrace } from './buildkit-log.js';
import { BuildError, CancelledError } from './errors.js';

export type { Docker };

/** The local engine (DOCKER_HOST or the default socket). */
export function localDocker(dockerHost?: string): Docker {
  if (!dockerHost) return new Docker();
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

export interface BuildRequest {
  context: Readable;
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string | null;
  platform: string;
  ulimits: { Name: string; Soft: number; Hard: number }[];
  tag: string;
  signal?: AbortSignal;
  onLine: (line: string) => void;
}

interface ProgressEvent {
  stream?: string;
  id?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Builds with BuildKit and streams its log line by line. The progress stream is
 * the only place the engine reports a failed build, so any `error` in it fails the build.
 */
export async function buildImage(docker: Docker, req: BuildRequest): Promise<{ imageId: string }> {
  if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
  const stream = (await docker.buildImage(req.context, {
    version: '2',
    t: req.tag,
    dockerfile: req.dockerfile,
    buildargs: req.buildArgs,
    ...(req.target ? { target: req.target } : {}),
    platform: req.platform,
    ...(req.ulimits.length ? { ulimits: JSON.stringify(req.ulimits) } : {}),
    abortSignal: req.signal,
    forcerm: true,
  } as Docker.ImageBuildOptions)) as NodeJS.ReadableStream;

  const formatter = new BuildkitLogFormatter();
  let imageId: string | undefined;
  let failure: string | undefined;
  const handle = (event: ProgressEvent) => {
    if (event.error || event.errorDetail) {
      failure = event.errorDetail?.message ?? event.error;
      req.onLine(`ERROR: ${failure}`);
    } else if (event.id === 'moby.buildkit.trace' && typeof event.aux === 'string') {
      for (const line of formatter.format(decodeTrace(event.aux))) req.onLine(line);
    } else if (event.id === 'moby.image.id') {
      imageId = (event.aux as { ID?: string }).ID;
    } else if (event.stream) {
      for (const line of event.stream.replace(/\n$/, '').split('\n')) req.onLine(line);
    } else if ((event.aux as { ID?: string } | undefined)?.ID) {
      imageId = (event.aux as { ID: string }).ID;
    }
  };

  try {
    let buffered = '';
    for await (const chunk of stream) {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) handle(JSON.parse(line) as ProgressEvent);
    }
    if (buffered.trim()) handle(JSON.parse(buffered) as ProgressEvent);
  } catch (err) {
    if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
    throw err;
  }
  if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
  if (failure) throw new BuildError(failure);
  if (!imageId) throw new BuildError('the engine reported no image id');
  return { imageId };
}

/** The platform Docker names for a build pool. */
export const POOL_PLATFORMS: Record<string, string> = {
  'linux-x86_64': 'linux/amd64',
  'linux-arm64': 'linux/arm64',
  'linux-ppc64': 'linux/ppc64le',
  'linux-s390x': 'linux/s390x',
  'linux-riscv64': 'linux/riscv64',
};
