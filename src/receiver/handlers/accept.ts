import type { Logger } from 'pino';
import { repoKey, type RepoIndex } from '../../config/repo-index.js';
import { intakeJobId } from '../../jobs/intake-queue.js';
import type { Queues } from '../../jobs/queues.js';
import type { Parsed } from '../../plan/commit-event.js';

export interface HandlerDeps {
  index: RepoIndex;
  queues: Pick<Queues, 'intake'>;
}

/** The webhook delivery being handled: Probot's context (its `id` is `X-GitHub-Delivery`). */
export interface Delivery {
  id: string;
  payload: unknown;
  log: Logger;
}

/**
 * The common tail of every handler: ignore what does not apply, add the rest to the
 * intake queue for a worker to take in (src/jobs/intake-worker.ts). That is one Redis
 * write at most, so GitHub's delivery is answered at once; a delivery seen before (the
 * same signed payload, whatever its delivery id) adds nothing.
 */
export async function accept(
  deps: HandlerDeps,
  delivery: Delivery,
  parsed: Parsed,
  opts: { rebuild?: boolean; before?: string } = {},
): Promise<void> {
  const { log } = delivery;
  if ('ignore' in parsed) {
    log.debug({ reason: parsed.ignore }, 'event ignored');
    return;
  }
  const { commit } = parsed;
  if (!deps.index.has(repoKey(commit.owner, commit.name))) {
    log.debug({ repo: `${commit.owner}/${commit.name}` }, 'repository not watched by this flavour');
    return;
  }
  await deps.queues.intake.add(intakeJobId(delivery.payload), {
    delivery: delivery.id,
    commit,
    ...opts,
  });
}
