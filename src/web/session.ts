import { randomBytes } from 'node:crypto';
import cookieSession from 'cookie-session';
import { csrfSync } from 'csrf-sync';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { isAdmin } from '../admin/actions.js';
import type { Flavour } from '../config/schema.js';
import type { GitHubLogin, LoginSettings } from './github-login.js';

/** Who is looking at a page, and the token their forms carry. */
export interface Viewer {
  login?: string;
  admin: boolean;
  /** Sign-in is configured (the App's OAuth credentials are given). */
  canSignIn: boolean;
  csrf?: string;
  flash?: { text: string; error: boolean };
}

export interface SessionDeps {
  flavour: Pick<Flavour, 'name' | 'admins' | 'baseUrl'>;
  login?: { github: GitHubLogin; settings: Pick<LoginSettings, 'sessionSecret'> };
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface SessionData {
  login?: string;
  oauth?: { state: string; next: string };
  flash?: { text: string; error: boolean };
  csrfToken?: string;
}

const session = (req: Request): SessionData | undefined =>
  (req.session ?? undefined) as SessionData | undefined;

const SESSION_HOURS = 12;

/** Only paths of this site: no scheme, no `//host`. */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';

/**
 * Signed cookie sessions, GitHub sign-in (`/login`, `/login/callback`, `/logout`),
 * and CSRF tokens for POSTs. Without OAuth credentials no session exists and
 * every POST is refused.
 */
export function sessions(deps: SessionDeps) {
  const router = Router();
  const callbackPath = '/login/callback';
  const redirectUrl = `${deps.flavour.baseUrl.replace(/\/+$/, '')}${callbackPath}`;
  const csrf = csrfSync({
    getTokenFromRequest: (req) => (req.body as { _csrf?: string } | undefined)?._csrf,
    getTokenFromState: (req) => session(req)?.csrfToken,
    storeTokenInState: (req, token) => {
      const s = session(req);
      if (s) s.csrfToken = token ?? undefined;
    },
  });

  const viewer = (req: Request): Viewer => {
    const s = session(req);
    const login = s?.login;
    const flash = s?.flash;
    if (s && flash) delete s.flash;
    return {
      login,
      admin: isAdmin(deps.flavour, login),
      canSignIn: deps.login !== undefined,
      csrf: login ? csrf.generateToken(req) : undefined,
      flash,
    };
  };

  /** Refuses a POST without a valid CSRF token, or from someone not in the admin list. */
  const requireAdmin = (req: Request, res: Response, next: NextFunction): void => {
    const login = session(req)?.login;
    if (!csrf.isRequestValid(req)) {
      deps.log?.warn({ path: req.path, by: login }, 'refused: missing or wrong CSRF token');
      return void res
        .status(403)
        .type('text')
        .send('refused: this form has expired; reload the page\n');
    }
    if (!isAdmin(deps.flavour, login)) {
      deps.log?.warn(
        { path: req.path, by: login },
        `refused: ${login ?? 'an anonymous user'} is not an admin of flavour ${deps.flavour.name}`,
      );
      return void res.status(403).type('text').send('refused: only admins may do this\n');
    }
    next();
  };

  const flash = (req: Request, text: string, error = false): void => {
    const s = session(req);
    if (s) s.flash = { text, error };
  };

  if (deps.login) {
    const { github, settings } = deps.login;
    router.use(
      cookieSession({
        name: 'deployer_session',
        keys: [settings.sessionSecret],
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.flavour.baseUrl.startsWith('https:'),
        maxAge: SESSION_HOURS * 3600_000,
      }),
    );
    router.get('/login', (req, res) => {
      const state = randomBytes(20).toString('hex');
      req.session = { ...session(req), oauth: { state, next: safeNext(req.query.next) } };
      res.redirect(github.authorizeUrl(redirectUrl, state));
    });
    router.get(callbackPath, async (req, res) => {
      const pending = session(req)?.oauth;
      const { code, state } = req.query;
      if (!pending || typeof code !== 'string' || state !== pending.state) {
        return void res.status(400).type('text').send('sign-in expired or forged; try again\n');
      }
      const login = await github.login(code, redirectUrl);
      // A fresh session: nothing from before sign-in carries over, the CSRF token included.
      req.session = { login };
      deps.log?.info({ login, admin: isAdmin(deps.flavour, login) }, 'signed in');
      res.redirect(pending.next);
    });
    router.post('/logout', (req, res) => {
      if (!csrf.isRequestValid(req)) return void res.status(403).type('text').send('refused\n');
      req.session = null;
      res.redirect(303, '/');
    });
  }
  return { router, viewer, requireAdmin, flash };
}

export type Sessions = ReturnType<typeof sessions>;
