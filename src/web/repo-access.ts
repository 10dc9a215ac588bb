import type { Request } from 'express';
import type { UiAccess } from '../config/env.js';
import { TokenRefusedError, type GitHubLogin } from './github-login.js';
import { session, type Sessions } from './session.js';

/** How long GitHub's answer on whether a user can read a repository is trusted. */
export const ACCESS_CACHE_MS = 5 * 60_000;
const CACHE_ENTRIES = 10_000;

export type Entry = 'ok' | 'sign-in' | 'admins-only';

/**
 * Who sees what (DEPLOYER_UI_ACCESS): `public`, everyone everything; `admins`,
 * the flavour's admins everything and nobody else anything; `signed-in`, admins
 * everything and other signed-in users the repositories they can read on GitHub
 * (asked with their own token, answers cached per user and repository).
 */
export function repoAccess(deps: {
  access: UiAccess;
  auth: Sessions;
  github?: GitHubLogin;
  cacheMs?: number;
}) {
  const cacheMs = deps.cacheMs ?? ACCESS_CACHE_MS;
  const cache = new Map<string, { readable: boolean; until: number }>();

  /** May this request see any page at all (the sign-in pages and the stylesheet aside)? */
  const entry = (req: Request): Entry => {
    if (deps.access === 'public') return 'ok';
    const who = deps.auth.identity(req);
    if (!who.login) return 'sign-in';
    return deps.access === 'admins' && !who.admin ? 'admins-only' : 'ok';
  };

  /** Whether every repository is visible to this request (no per-repository check needed). */
  const seesAll = (req: Request): boolean =>
    deps.access === 'public' || (deps.auth.identity(req).admin && entry(req) === 'ok');

  async function canRead(req: Request, fullName: string): Promise<boolean> {
    if (seesAll(req)) return true;
    if (entry(req) !== 'ok' || !deps.github) return false;
    const uid = session(req)?.uid;
    const key = `${uid}\0${fullName.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.readable;
    const token = await deps.auth.token(req);
    let readable: boolean;
    try {
      if (!token) throw new TokenRefusedError(); // its record expired with the session's
      readable = await deps.github.canRead(token, fullName);
    } catch (err) {
      if (!(err instanceof TokenRefusedError)) throw err;
      req.session = null; // signed out: the next page asks them to sign in again
      return false;
    }
    cache.delete(key);
    cache.set(key, { readable, until: Date.now() + cacheMs });
    // Oldest first: Map keeps insertion order.
    for (const old of cache.keys()) {
      if (cache.size <= CACHE_ENTRIES) break;
      cache.delete(old);
    }
    return readable;
  }

  /** The names among `fullNames` this request may see. */
  async function readable(req: Request, fullNames: Iterable<string>): Promise<Set<string>> {
    const names = [...new Set(fullNames)];
    const checks = await Promise.all(names.map((n) => canRead(req, n)));
    return new Set(names.filter((_, i) => checks[i]));
  }

  return { entry, seesAll, canRead, readable };
}
