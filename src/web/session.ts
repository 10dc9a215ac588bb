import cookieSession from 'cookie-session';
import { csrfSync } from 'csrf-sync';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { isAdmin } from '../admin/actions.js';
import type { Flavour } from '../config/schema.js';
import type { GitHubLogin, LoginSettings } from './github-login.js';
import type { SessionStore } from './session-store.js';
import { signInRoutes } from './sign-in-routes.js';

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
  login?: {
    github: GitHubLogin;
    settings: Pick<LoginSettings, 'sessionSecret'>;
    store: SessionStore;
  };
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface SessionData {
  login?: string;
  /** GitHub's id of the user: logins can be renamed and reclaimed, ids cannot. */
  uid?: number;
  /** Names what is kept server-side for this session (its GitHub token). */
  sid?: string;
  /** When the session was issued (ms): it ends SESSION_MS later whatever the cookie says. */
  iat?: number;
  /** The user's session generation when it was issued; sign-out bumps it. */
  gen?: number;
  oauth?: { state: string; next: string };
  flash?: { text: string; error: boolean };
  csrfToken?: string;
}

export const session = (req: Request): SessionData | undefined =>
  (req.session ?? undefined) as SessionData | undefined;

export const SESSION_MS = 12 * 3600_000;

/** Only paths of this site: no scheme, no `//host`. */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';

/**
 * Signed cookie sessions checked on every request (age and generation), GitHub
 * sign-in (`/login`, `/login/callback`, `/logout`), and CSRF tokens for POSTs.
 * Without OAuth credentials no session exists and every POST is refused.
 */
export function sessions(deps: SessionDeps) {
  const router = Router();
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

  /** Who is signed in, without touching the session (no flash taken, no CSRF token made). */
  const identity = (req: Request): { login?: string; admin: boolean } => {
    const login = session(req)?.login;
    return { login, admin: isAdmin(deps.flavour, login) };
  };

  /** The signed-in user's GitHub token, kept server-side. */
  const token = async (req: Request): Promise<string | undefined> => {
    const sid = session(req)?.sid;
    return (sid && (await deps.login?.store.token(sid))) || undefined;
  };

  /** Who a per-client limit counts against: the signed-in user (all their sessions), else the address. */
  const clientKey = (req: Request): string => {
    const uid = session(req)?.uid;
    return uid !== undefined ? `user:${uid}` : `ip:${req.ip ?? req.socket.remoteAddress ?? ''}`;
  };

  if (deps.login) {
    const { settings, store } = deps.login;
    router.use(
      cookieSession({
        name: 'deployer_session',
        keys: [settings.sessionSecret],
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.flavour.baseUrl.startsWith('https:'),
        maxAge: SESSION_MS,
      }),
    );
    // The cookie's own expiry is the browser's business; a copied cookie is judged here.
    router.use(async (req, _res, next) => {
      const s = session(req);
      if (s?.login !== undefined && !(await current(s, store))) req.session = null;
      next();
    });
    router.use(signInRoutes({ ...deps, login: deps.login }, csrf.isRequestValid));
  }
  return { router, viewer, identity, requireAdmin, flash, token, clientKey };
}

async function current(s: SessionData, store: SessionStore): Promise<boolean> {
  if (typeof s.iat !== 'number' || typeof s.uid !== 'number' || typeof s.gen !== 'number')
    return false;
  const age = Date.now() - s.iat;
  if (age < 0 || age > SESSION_MS) return false;
  return (await store.generation(s.uid)) === s.gen;
}

export type Sessions = ReturnType<typeof sessions>;
