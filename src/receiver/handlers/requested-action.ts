import type { Delivery } from '../routes.js';
import { AdminActions, AdminError, isAdmin, type AdminDeps } from '../../admin/actions.js';
import { repoKey } from '../../config/repo-index.js';
import { parseRequestedAction } from '../../plan/requested-action.js';
import type { PressStore } from '../../store/press-store.js';

export type ActionDeps = Omit<AdminDeps, 'log'> & { presses: PressStore };

// GitHub sends a press once; the same press again within this window is a replay.
const PRESS_WINDOW_S = 600;

/** A button on the check run (Rebuild, Confirm, Roll back): done only for the flavour's admins. */
export const onRequestedAction =
  (deps: ActionDeps) => async (context: Delivery<'check_run.requested_action'>) => {
    const parsed = parseRequestedAction(context.payload);
    if ('ignore' in parsed) return void context.log.debug({ reason: parsed.ignore }, 'ignored');
    const { action, repo, sha, login } = parsed.request;
    if (!deps.index.get(repoKey(...(repo.split('/') as [string, string])))) return;
    if (!isAdmin(deps.flavour, login)) {
      context.log.warn(
        { by: login, action, repo, sha, flavour: deps.flavour.name },
        `refused ${action}: ${login} is not an admin of flavour ${deps.flavour.name}`,
      );
      return;
    }
    if (!(await deps.presses.first(parsed.request.checkRunId, action, PRESS_WINDOW_S))) {
      context.log.warn(
        { by: login, action, repo, sha },
        `${action} already pressed on this check run`,
      );
      return;
    }
    const admin = new AdminActions({ ...deps, log: context.log });
    try {
      if (action === 'rebuild') await admin.rebuild(repo, sha, login);
      else if (action === 'confirm') await admin.confirmCommit(repo, sha, login);
      else await admin.rollbackCommit(repo, sha, login);
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      context.log.warn({ by: login, action, repo, sha }, `${action} not done: ${err.message}`);
    }
  };
