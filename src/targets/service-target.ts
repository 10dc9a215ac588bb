import type { Service } from '../config/schema.js';
import {
  DeployError,
  type DeployContext,
  type DeployOutcome,
  type ServiceContext,
  type Target,
} from './target.js';

/** A target for Docker services of one kind: resolves the service's engine, credentials and compose file. */
export function serviceTarget(
  kind: Service['kind'],
  update: (ctx: ServiceContext) => Promise<DeployOutcome>,
): Target {
  return {
    kind,
    async deploy(ctx: DeployContext): Promise<DeployOutcome> {
      const { place, env } = ctx;
      if (place.kind === 'unikernel' || place.kind !== kind)
        throw new DeployError(`a ${place.kind} unit cannot be deployed as ${kind}`);
      const { service } = place;
      return update({
        service,
        image: ctx.image,
        digest: ctx.digest,
        auth: await env.engineAuth(place.published),
        ...env.engine(service.context),
        composeFile:
          service.compose && env.readFile ? await env.readFile(service.compose) : undefined,
        log: ctx.log,
        convergeTimeoutMs: env.convergeTimeoutMs,
      });
    },
  };
}
