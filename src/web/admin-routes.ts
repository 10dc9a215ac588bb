import { Router, type Request, type Response } from 'express';
import { AdminError, type AdminActions } from '../admin/actions.js';
import { OPERATION_LEVELS, type Operation } from '../config/levels.js';
import { safeNext, type Sessions } from './session.js';

const field = (req: Request, name: string): string => {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

/**
 * The admins' buttons: each a POST with the session's CSRF token, answered by a
 * redirect back to the page with what happened.
 */
export function adminRoutes(actions: AdminActions, auth: Sessions): Router {
  const router = Router();
  const act =
    (run: (req: Request, by: string) => Promise<string>) => async (req: Request, res: Response) => {
      const by = (req.session as { login: string }).login;
      try {
        auth.flash(req, await run(req, by));
      } catch (err) {
        if (!(err instanceof AdminError)) throw err;
        auth.flash(req, err.message, true);
      }
      res.redirect(303, safeNext(field(req, 'back')));
    };

  router.post(
    '/jobs/:id/rebuild',
    auth.requireAdmin,
    act(async (req, by) => {
      const { repo, sha } = await actions.commitOf(String(req.params.id));
      return actions.rebuild(repo, sha, by);
    }),
  );
  router.post(
    '/jobs/:id/cancel',
    auth.requireAdmin,
    act((req, by) => actions.cancel(String(req.params.id), by)),
  );
  router.post(
    '/jobs/:id/confirm',
    auth.requireAdmin,
    act(async (req, by) => {
      const op = field(req, 'op');
      if (!Object.hasOwn(OPERATION_LEVELS, op)) throw new AdminError(`no operation "${op}"`);
      return actions.confirm(String(req.params.id), op as Operation, by);
    }),
  );
  // The original's path and field: `level` is none, a level, or `configured`.
  router.post(
    '/set/confirm',
    auth.requireAdmin,
    act((req, by) => actions.setConfirmLevel(field(req, 'level'), by)),
  );
  router.post(
    '/services/rollback',
    auth.requireAdmin,
    act((req, by) => actions.rollback(field(req, 'service'), field(req, 'job'), by)),
  );
  router.post(
    '/services/unpin',
    auth.requireAdmin,
    act((req, by) => actions.unpin(field(req, 'service'), by)),
  );
  return router;
}
