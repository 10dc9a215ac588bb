import { Redis } from 'ioredis';
import type { DeployerEnv } from '../config/env.js';
import { resolveFlavour } from '../config/flavour.js';
import { buildRepoIndex, type RepoIndex } from '../config/repo-index.js';
import type { Flavour } from '../config/schema.js';
import { Gates } from '../store/gates.js';
import { Queues } from '../jobs/queues.js';
import { ArgStore } from '../store/arg-store.js';
import { CommitStore } from '../store/commit-store.js';
import { DeployStore } from '../store/deploy-store.js';
import { PressStore } from '../store/press-store.js';
import { SlackMessageStore } from '../store/slack-message-store.js';

/** What receivers and workers of one flavour share: its config, Redis, queues and records. */
export interface Runtime {
  env: DeployerEnv;
  flavour: Flavour;
  index: RepoIndex;
  redis: Redis;
  queues: Queues;
  /** Commits' state; a change rewrites the commit's check run. */
  store: CommitStore;
  deploys: DeployStore;
  /** Build arguments taken from elsewhere, as last seen per build spec. */
  args: ArgStore;
  /** Operations waiting for an admin (`env.confirm`); a change rewrites the commit's check run. */
  gates: Gates;
  /** Check-run buttons pressed lately, so a press (or a replay of it) acts once. */
  presses: PressStore;
  /** Where each deployment's Slack message is, so its later states edit it. */
  slackMessages: SlackMessageStore;
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
  // A change to a commit's state, or to what waits for an admin, rewrites its check run.
  const syncCheckRun = (repo: string, sha: string) => queues.requestCheckSync(repo, sha);
  return {
    env,
    flavour,
    index: buildRepoIndex(flavour),
    redis,
    queues,
    store: new CommitStore(redis, ns, syncCheckRun),
    deploys: new DeployStore(redis, ns),
    args: new ArgStore(redis, ns),
    presses: new PressStore(redis, ns),
    slackMessages: new SlackMessageStore(redis, ns),
    gates: new Gates(redis, ns, env.confirm, syncCheckRun),
    async close() {
      await queues.close();
      redis.disconnect();
    },
  };
}
