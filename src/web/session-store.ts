import type { Redis } from 'ioredis';

/**
 * What sessions need beyond their signed cookie, in Redis so every receiver
 * agrees: a generation per user (bumped at sign-out, ending every session issued
 * before), the GitHub id first seen for each admin login, and each session's
 * GitHub token (kept out of the cookie, which is signed but readable).
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    /** How long a session lives; what is kept for it lives a little longer. */
    private readonly sessionMs: number,
  ) {}

  private genKey = (uid: number) => `${this.ns}:web:session-gen:${uid}`;
  private tokenKey = (sid: string) => `${this.ns}:web:session-token:${sid}`;
  private adminIdsKey = () => `${this.ns}:web:admin-ids`;

  async generation(uid: number): Promise<number> {
    return Number((await this.redis.get(this.genKey(uid))) ?? 0);
  }

  /** Ends every session of the user issued until now. */
  async endSessions(uid: number): Promise<void> {
    await this.redis
      .multi()
      .incr(this.genKey(uid))
      .pexpire(this.genKey(uid), this.sessionMs + 3600_000)
      .exec();
  }

  /** A new session: its generation must outlive it (an expired counter would start again at 0). */
  async startSession(uid: number, sid: string, token: string): Promise<number> {
    const [[, gen]] = (await this.redis
      .multi()
      .get(this.genKey(uid))
      .pexpire(this.genKey(uid), this.sessionMs + 3600_000)
      .set(this.tokenKey(sid), token, 'PX', this.sessionMs)
      .exec()) as [[Error | null, string | null]];
    return Number(gen ?? 0);
  }

  token(sid: string): Promise<string | null> {
    return this.redis.get(this.tokenKey(sid));
  }

  async dropToken(sid: string): Promise<void> {
    await this.redis.del(this.tokenKey(sid));
  }

  /**
   * Binds an admin login to the GitHub id it first signed in with; false when the
   * login now belongs to another account (renamed, and the name taken by someone else).
   */
  async sameAdmin(login: string, id: number): Promise<boolean> {
    const key = this.adminIdsKey();
    const field = login.toLowerCase();
    const [, [, first]] = (await this.redis
      .multi()
      .hsetnx(key, field, String(id))
      .hget(key, field)
      .exec()) as [unknown, [Error | null, string | null]];
    return first === String(id);
  }
}
