import type Docker from 'dockerode';
import type { EngineAuth } from './images.js';

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
