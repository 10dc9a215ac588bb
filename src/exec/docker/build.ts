import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { BuildError, CancelledError } from '../errors.js';
import { untrustedBuildOptions, type UntrustedBuildNetwork } from '../untrusted-build.js';
import { BuildkitLogFormatter, decodeTrace } from './buildkit-log.js';
import { engineConnectionError } from './connection.js';
import type { ProgressEvent } from './progress.js';

export interface BuildRequest {
  context: Readable;
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string | null;
  platform: string;
  ulimits: { Name: string; Soft: number; Hard: number }[];
  tag: string;
  /**
   * A build from a fork or PR (one that will not be staged): its cache mounts are kept
   * apart from trusted builds' and its RUN steps use `untrustedNetwork`.
   */
  untrusted?: boolean;
  /** Default: DEPLOYER_UNTRUSTED_BUILD_NETWORK. */
  untrustedNetwork?: UntrustedBuildNetwork;
  signal?: AbortSignal;
  onLine: (line: string) => void;
}

/**
 * Builds with BuildKit and streams its log line by line. The progress stream is
 * the only place the engine reports a failed build, so any `error` in it fails the build.
 */
export async function buildImage(docker: Docker, req: BuildRequest): Promise<{ imageId: string }> {
  if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
  const failed = (err: unknown) =>
    req.signal?.aborted
      ? new CancelledError(String(req.signal.reason ?? 'cancelled'))
      : engineConnectionError(docker, err, 'the build');
  const isolation = req.untrusted
    ? untrustedBuildOptions(req.untrustedNetwork ?? 'default')
    : undefined;
  const stream = (await docker
    .buildImage(req.context, {
      version: '2',
      t: req.tag,
      dockerfile: req.dockerfile,
      // After the configured arguments, so that none of them can undo the isolation.
      buildargs: { ...req.buildArgs, ...isolation?.buildargs },
      ...(isolation ? { networkmode: isolation.networkmode } : {}),
      ...(req.target ? { target: req.target } : {}),
      platform: req.platform,
      ...(req.ulimits.length ? { ulimits: JSON.stringify(req.ulimits) } : {}),
      abortSignal: req.signal,
      forcerm: true,
    } as Docker.ImageBuildOptions)
    .catch((err: unknown) => Promise.reject(failed(err)))) as NodeJS.ReadableStream;

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
    throw failed(err);
  }
  if (req.signal?.aborted) throw new CancelledError(String(req.signal.reason ?? 'cancelled'));
  if (failure) throw new BuildError(failure);
  if (!imageId) throw new BuildError('the engine reported no image id');
  return { imageId };
}
