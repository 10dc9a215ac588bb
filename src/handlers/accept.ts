import type { Logger } from 'pino';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import { acceptCommit, type IntakeDeps } from '../jobs/intake.js';
import type { Parsed } from '../plan/commit-event.js';

export interface HandlerDeps extends IntakeDeps {
  index: RepoIndex;
}

/** The common tail of every handler: ignore what does not apply, enqueue what does. */
export async function accept(
  deps: HandlerDeps,
  log: Logger,
  parsed: Parsed,
  opts: { rebuild?: boolean } = {},
): Promise<void> {
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
  const result = await acceptCommit(deps, entry, commit, opts);
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
