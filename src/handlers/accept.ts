import type { Logger } from 'pino';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import { acceptCommit, type IntakeDeps } from '../jobs/intake.js';
import type { Parsed } from '../plan/commit-event.js';
import type { DeliveryStore } from '../store/delivery-store.js';

export interface HandlerDeps extends IntakeDeps {
  index: RepoIndex;
  deliveries: DeliveryStore;
}

/** The webhook delivery being handled: Probot's context (its `id` is `X-GitHub-Delivery`). */
export interface Delivery {
  id: string;
  log: Logger;
}

/**
 * The common tail of every handler: ignore what does not apply and what was
 * delivered before, enqueue the rest.
 */
export async function accept(
  deps: HandlerDeps,
  delivery: Delivery,
  parsed: Parsed,
  opts: { rebuild?: boolean } = {},
): Promise<void> {
  const { log } = delivery;
  if ('ignore' in parsed) {
    log.debug({ reason: parsed.ignore }, 'event ignored');
    return;
  }
  const { commit } = parsed;
  const entry = deps.index.get(repoKey(commit.owner, commit.name));
  if (!entry) {
    log.debug({ repo: `${commit.owner}/${commit.name}` }, 'repository not watched by this flavour');
    return;
  }
  // A redelivery of an older push would otherwise move the branch head back and
  // cancel the build of the newer commit.
  if (!(await deps.deliveries.claim(delivery.id))) {
    log.info(
      { delivery: delivery.id, repo: entry.fullName, sha: commit.sha },
      'redelivery ignored',
    );
    return;
  }
  const result = await acceptCommit(deps, entry, commit, opts).catch(async (err: unknown) => {
    // Not taken after all: GitHub's redelivery of it must be handled.
    await deps.deliveries.release(delivery.id).catch(() => undefined);
    throw err;
  });
  log.info(
    {
      repo: entry.fullName,
      sha: commit.sha,
      ref: commit.ref,
      enqueued: result.enqueued.length,
      superseded: result.superseded,
    },
    'commit accepted',
  );
}
