import type { Docker } from '../exec/docker/client.js';
import { buildSteps } from '../jobs/build-steps.js';
import type { BuildDeps } from '../jobs/build.js';
import type { StageDeps } from '../jobs/stage.js';
import { BuildSlots } from '../store/build-slots.js';
import type { Runtime } from './runtime.js';

/** What a build worker needs, the same for `start`, `worker` and local mode. */
export function createBuildDeps(
  runtime: Runtime,
  w: {
    docker: Docker;
    repoToken: BuildDeps['repoToken'];
    stage?: StageDeps;
    args?: BuildDeps['args'];
  },
): BuildDeps {
  const { env } = runtime;
  return {
    index: runtime.index,
    store: runtime.store,
    queues: runtime.queues,
    gates: runtime.gates,
    docker: w.docker,
    steps: buildSteps,
    workDir: env.workDir,
    repoToken: w.repoToken,
    stage: w.stage,
    buildTimeoutMs: env.buildTimeoutMs,
    untrustedNetwork: env.untrustedBuildNetwork,
    forkSlots: {
      slots: new BuildSlots(runtime.redis, runtime.queues.prefix),
      perRepo: env.untrustedBuildsPerRepo,
    },
    ...(w.args ? { args: w.args } : {}),
  };
}
