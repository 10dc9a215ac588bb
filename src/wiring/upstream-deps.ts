import { parseImageRef } from '../exec/image-ref.js';
import type { RegistryClient } from '../exec/registry.js';
import type { DeployDeps } from '../jobs/deploy-deps.js';
import type { UpstreamDeps } from '../jobs/tasks/upstream.js';
import type { Runtime } from './runtime.js';
import { UpstreamStore } from '../store/upstream-store.js';

/** The upstream check's collaborators: the deploy job's, the same registry client, a record per upstream. */
export function createUpstreamDeps(
  runtime: Pick<Runtime, 'env' | 'flavour' | 'redis'>,
  deploy: DeployDeps,
  registry: RegistryClient,
): UpstreamDeps {
  return {
    ...deploy,
    // The namespace createRuntime gives the flavour's other stores.
    upstreams: new UpstreamStore(runtime.redis, `${runtime.env.prefix}:${runtime.flavour.name}`),
    digest: async (image) => (await registry.headManifest(parseImageRef(image))).digest,
  };
}
