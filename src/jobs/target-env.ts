import { unikernelHostSchema } from '../config/schema.js';
import type { TargetEnv } from '../targets/target.js';
import type { DeployDeps } from './deploy-deps.js';

export type TargetDeps = Pick<
  DeployDeps,
  'engine' | 'engineAuth' | 'registry' | 'ssh' | 'unikernelHosts' | 'convergeTimeoutMs'
>;

/** The engines, registry and hosts targets deploy through; `readFile` reads the deployed commit. */
export function targetEnv(deps: TargetDeps, readFile?: TargetEnv['readFile']): TargetEnv {
  return {
    engine: deps.engine,
    engineAuth: deps.engineAuth,
    readFile,
    registry: deps.registry,
    ssh: deps.ssh,
    // A host the flavour does not describe gets the defaults (directory, restart command).
    unikernelHost: (host) => deps.unikernelHosts[host] ?? unikernelHostSchema.parse({}),
    convergeTimeoutMs: deps.convergeTimeoutMs,
  };
}
