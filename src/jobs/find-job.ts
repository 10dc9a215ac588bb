import type { Job, Queue } from 'bullmq';
import { flavourPools, type RepoIndex } from '../config/repo-index.js';
import type { BuildJobData } from '../plan/build-jobs.js';
import type { DeployJobData } from '../plan/deploy-jobs.js';
import type { Queues } from './queues.js';

export type FoundJob =
  | { kind: 'build'; job: Job<BuildJobData>; queue: Queue<BuildJobData> }
  | { kind: 'deploy'; job: Job<DeployJobData>; queue: Queue<DeployJobData> };

// Our ids are hex, arch names and '-'; anything else is not looked up at all.
const JOB_ID = /^[A-Za-z0-9_.-]{1,300}$/;

/** A job by id: in the build queue of one of the flavour's pools, or else the deploy queue. */
export async function findJob(
  deps: { index: RepoIndex; queues: Queues },
  id: string,
): Promise<FoundJob | undefined> {
  if (!JOB_ID.test(id)) return undefined;
  for (const pool of flavourPools(deps.index)) {
    const queue = deps.queues.build(pool);
    const job = await queue.getJob(id);
    if (job) return { kind: 'build', job, queue };
  }
  const queue = deps.queues.deploy;
  const job = await queue.getJob(id);
  return job ? { kind: 'deploy', job, queue } : undefined;
}
