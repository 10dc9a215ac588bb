import { Redis } from 'ioredis';
import type { DeployerEnv } from './config/env.js';
import { resolveFlavour } from './config/flavour.js';
import { buildRepoIndex, type RepoIndex } from './config/repo-index.js';
import type { Flavour } from './config/schema.js';
import { Gates } from './jobs/gates.js';
import { Queues } from './jobs/queues.js';
import { ArgStore } from './store/arg-store.js';
import { CommitStore } from './store/commit-store.js';
import { DeployStore } from './store/deploy-store.js';

/** What receivers and workers of one flavour share: its config, Redis, queues and records. */
export interface Runtime {
  env: DeployerEnv;
  flavour: Flavour;
  index: RepoIndex;
  redis: Redis;
  queues: Queues;
  store: CommitStore;
  deploys: DeployStore;
  /** Build arguments taken from elsewhere, as last seen per build spec. */
  args: ArgStore;
  /** Operations waiting for an admin (`env.confirm`); a change rewrites the commit's check run. */
  gates: Gates;
  close(): Promise<void>;
}

export function redisConnection(url: string): Redis {
  // BullMQ workers block on Redis and must never give up on a command.
  return new Redis(url, { maxRetriesPerRequest: null });
}

export function createRuntime(env: DeployerEnv, flavour: Flavour = resolveFlavour(env)): Runtime {
  const redis = redisConnection(env.redisUrl);
  const ns = `${env.prefix}:${flavour.name}`;
  const queues = new Queues(redis, ns);
  return {
    env,
    flavour,
    index: buildRepoIndex(flavour),
    redis,
    queues,
    store: new CommitStore(redis, ns),
    deploys: new DeployStore(redis, ns),
    args: new ArgStore(redis, ns),
    gates: new Gates(redis, ns, env.confirm, (repo, sha) => queues.requestCheckSync(repo, sha)),
    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}
