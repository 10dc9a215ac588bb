import { randomBytes } from 'node:crypto';
import { Router, type Request } from 'express';
import { isAdmin } from '../admin/actions.js';
import type { GitHubLogin } from './github-login.js';
import { safeNext, session, type SessionDeps } from './session.js';
import type { SessionStore } from './session-store.js';

/** Where GitHub sends a user back after sign-in; the App's OAuth callback URL is the base URL plus this. */
export const CALLBACK_PATH = '/login/callback';

/** `/login` → GitHub → `/login/callback`, and `/logout`, which ends every session of the user. */
export function signInRoutes(
  deps: SessionDeps & { login: { github: GitHubLogin; store: SessionStore } },
  csrfValid: (req: Request) => boolean,
): Router {
  const router = Router();
  const { github, store } = deps.login;
  const redirectUrl = `${deps.flavour.baseUrl.replace(/\/+$/, '')}${CALLBACK_PATH}`;

  router.get('/login', (req, res) => {
    const state = randomBytes(20).toString('hex');
    req.session = { ...session(req), oauth: { state, next: safeNext(req.query.next) } };
    res.redirect(github.authorizeUrl(redirectUrl, state));
  });

  router.get(CALLBACK_PATH, async (req, res) => {
    const pending = session(req)?.oauth;
    const { code, state } = req.query;
    if (!pending || typeof code !== 'string' || state !== pending.state) {
      return void res.status(400).type('text').send('sign-in expired or forged; try again\n');
    }
    const user = await github.user(code, redirectUrl);
    const admin = isAdmin(deps.flavour, user.login);
    if (admin && !(await store.sameAdmin(user.login, user.id))) {
      req.session = null;
      deps.log?.warn(
        { login: user.login, id: user.id },
        'refused sign-in: an admin login now belongs to another GitHub account',
      );
      return void res
        .status(403)
        .type('text')
        .send(
          `refused: the GitHub account now named ${user.login} is not the one that was admin under that name; ` +
            'an operator must update the admins of this deployer\n',
        );
    }
    const sid = randomBytes(24).toString('base64url');
    const gen = await store.startSession(user.id, sid, user.token);
    // A fresh session: nothing from before sign-in carries over, the CSRF token included.
    req.session = { login: user.login, uid: user.id, sid, iat: Date.now(), gen };
    deps.log?.info({ login: user.login, admin }, 'signed in');
    res.redirect(pending.next);
  });

  router.post('/logout', async (req, res) => {
    if (!csrfValid(req)) return void res.status(403).type('text').send('refused\n');
    const s = session(req);
    if (s?.uid !== undefined) await store.endSessions(s.uid);
    if (s?.sid) await store.dropToken(s.sid);
    req.session = null;
    res.redirect(303, '/');
  });
  return router;
}
