import {
  inspectService,
  rollbackService,
  serviceTasks,
  updateServiceImage,
} from '../exec/docker/services.js';
import { pullImage } from '../exec/docker/images.js';
import type { Docker } from '../exec/docker/client.js';
import { convergence, digestOf, type Convergence } from './convergence.js';
import { serviceTarget } from './service-target.js';
import { DeployError, type DeployOutcome, type ServiceContext } from './target.js';

// Quick updates are seen quickly; slow ones are not polled more than once a second.
const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 1_000;

async function watch(
  docker: Docker,
  id: string,
  image: string,
  timeoutMs: number,
): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = FIRST_POLL_MS; ; wait = Math.min(MAX_POLL_MS, wait * 1.5)) {
    const [info, tasks] = await Promise.all([inspectService(docker, id), serviceTasks(docker, id)]);
    const state = convergence(info, tasks, image);
    if (state.state !== 'updating') return state;
    if (Date.now() > deadline)
      return { state: 'failed', reason: `not converged after ${Math.round(timeoutMs / 1000)}s` };
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * A Swarm service: pull the image by digest on its engine, update the service to
 * it, and report success only once every task runs it; otherwise roll back.
 */
export async function updateSwarmService(ctx: ServiceContext): Promise<DeployOutcome> {
  const { docker, service, image, log } = ctx;
  const info = await inspectService(docker, service.name);
  const current = (info.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } }).ContainerSpec
    ?.Image;
  if (digestOf(current) === ctx.digest) {
    const state = await watch(docker, info.ID, current!, ctx.convergeTimeoutMs);
    if (state.state === 'converged') {
      log(`${service.name} already runs ${ctx.digest}`);
      return { changed: false };
    }
  }
  log(`Pulling ${image} on the service's engine`);
  await pullImage(docker, image, ctx.auth, log);
  log(`Updating ${service.name}: ${current ?? 'nothing'} → ${image}`);
  await updateServiceImage(docker, info, image, ctx.auth);
  const state = await watch(docker, info.ID, image, ctx.convergeTimeoutMs);
  if (state.state === 'converged') {
    log(`${service.name} converged: every task runs ${ctx.digest}`);
    return { changed: true };
  }
  const reason = state.state === 'failed' ? state.reason : 'did not converge';
  log(`${service.name} failed to update (${reason}); rolling back`);
  await rollBack(docker, info.ID);
  throw new DeployError(`${service.name}: ${reason} (rolled back)`);
}

const OUT_OF_SEQUENCE = /update out of sequence/;
const ROLLBACK_TRIES = 5;

/**
 * `docker service rollback`. The engine may still be writing the paused update's state
 * when the roll-back is asked for, and then refuses a spec version it has just replaced
 * ("update out of sequence"): the service is read again and the roll-back asked again.
 */
async function rollBack(docker: Docker, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rollbackService(docker, await inspectService(docker, id));
    } catch (err) {
      if (attempt >= ROLLBACK_TRIES || !OUT_OF_SEQUENCE.test(String((err as Error).message)))
        throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

export const swarm = serviceTarget('swarm', updateSwarmService);
