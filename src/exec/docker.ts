import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { BuildkitLogFormatter, decodeTrace } from './buildkit-log.js';
import type { DockerEndpoint } from './docker-context.js';
import { BuildError, CancelledError, EngineError } from './errors.js';
import { engineConnectionError } from './engine-connection.js';
import { limitEngineCalls } from './engine-timeout.js';
import { describeTarget, type SshConnectConfig } from './ssh.js';

export type { Docker };

const REMOTE_IDLE_TIMEOUT_MS = 120_000;

/** The engine a docker context names; over SSH the host key is checked (see ssh.ts). */
export function dockerForEndpoint(
  endpoint: DockerEndpoint,
  ssh: () => SshConnectConfig,
  dockerHost?: string,
): Docker {
  switch (endpoint.kind) {
    case 'local':
      return localDocker(dockerHost);
    case 'unix':
      return new Docker({ socketPath: endpoint.socketPath });
    case 'tcp':
      return new Docker({
        host: endpoint.host,
        port: endpoint.port,
        protocol: 'http',
        timeout: REMOTE_IDLE_TIMEOUT_MS,
      });
    case 'ssh': {
      const config = ssh();
      const docker = new Docker({
        protocol: 'ssh',
        host: endpoint.target.host,
        port: endpoint.target.port,
        username: endpoint.target.username,
        // docker-modem's `timeout` breaks its SSH transport; ssh2's keepalive ends a
        // connection to a host that stopped answering, and each call has a time limit.
        sshOptions: { ...config, keepaliveInterval: 15_000, keepaliveCountMax: 4 },
      } as Docker.DockerOptions);
      limitEngineCalls(docker, config.callTimeoutMs, describeTarget(endpoint.target));
      return docker;
    }
  }
}

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
  status?: string;
  id?: string;
  aux?: unknown;
  progressDetail?: { current?: number };
  error?: string;
  errorDetail?: { message?: string };
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
  const stream = (await docker
    .buildImage(req.context, {
      version: '2',
      t: req.tag,
      dockerfile: req.dockerfile,
      buildargs: req.buildArgs,
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

/** Registry credentials as the Engine API takes them (the X-Registry-Auth header). */
export interface EngineAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** Reads a pull or push progress stream; the engine reports failures only inside it. */
async function followProgress(
  stream: NodeJS.ReadableStream,
  onEvent: (event: ProgressEvent) => void,
): Promise<void> {
  let buffered = '';
  let failure: string | undefined;
  const handle = (line: string) => {
    if (!line.trim()) return;
    const event = JSON.parse(line) as ProgressEvent;
    if (event.error || event.errorDetail) failure ??= event.errorDetail?.message ?? event.error;
    onEvent(event);
  };
  for await (const chunk of stream) {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(handle);
  }
  handle(buffered);
  if (failure) throw new EngineError(failure);
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

export type ServiceInfo = Docker.Service extends never
  ? never
  : Awaited<ReturnType<Docker.Service['inspect']>>;
export type TaskInfo = Awaited<ReturnType<Docker['listTasks']>>[number];

export async function inspectService(docker: Docker, name: string): Promise<ServiceInfo> {
  return docker.getService(name).inspect();
}

export async function serviceTasks(docker: Docker, serviceId: string): Promise<TaskInfo[]> {
  return docker.listTasks({ filters: { service: [serviceId] } });
}

/**
 * Updates the service to `image`, keeping the rest of its spec; credentials go
 * with the update (`--with-registry-auth`) so every node can pull.
 */
export async function updateServiceImage(
  docker: Docker,
  info: ServiceInfo,
  image: string,
  auth: EngineAuth | undefined,
): Promise<void> {
  const spec = info.Spec!;
  const task = spec.TaskTemplate as { ContainerSpec?: Record<string, unknown> };
  const body = {
    ...spec,
    TaskTemplate: { ...task, ContainerSpec: { ...task.ContainerSpec, Image: image } },
  };
  await serviceUpdate(docker, info.ID, auth, { version: info.Version?.Index }, body);
}

/** `docker service rollback`: back to the previous spec. */
export async function rollbackService(docker: Docker, info: ServiceInfo): Promise<void> {
  await serviceUpdate(
    docker,
    info.ID,
    undefined,
    { version: info.Version?.Index, rollback: 'previous' },
    info.Spec,
  );
}

// dockerode's typings lack the (auth, options) form; `_query`/`_body` keep the
// spec out of the query string (docker-modem would otherwise put it in both).
function serviceUpdate(
  docker: Docker,
  id: string,
  auth: EngineAuth | undefined,
  query: Record<string, unknown>,
  body: unknown,
): Promise<unknown> {
  const service = docker.getService(id) as unknown as {
    update(auth: object, opts: object): Promise<unknown>;
  };
  return service.update(auth as object, { _query: query, _body: body });
}
