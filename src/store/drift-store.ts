import type { Redis } from 'ioredis';
import { driftId, sortWarnings, type DriftKind, type DriftWarning } from '../doctor/warnings.js';

/** A current warning, with when it was first seen. */
export interface StoredWarning extends DriftWarning {
  since: number;
}

/** What an update changed: warnings seen for the first time, and warnings gone. */
export interface DriftChange {
  added: DriftWarning[];
  cleared: StoredWarning[];
}

/**
 * The current drift warnings of a flavour, in one Redis hash under its namespace:
 * workers write them, receivers show them. A warning is `added` to exactly one
 * writer (HSETNX), so it is logged once however many workers check.
 */
export class DriftStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {}

  private get key(): string {
    return `${this.ns}:drift`;
  }

  async current(): Promise<StoredWarning[]> {
    const stored = await this.redis.hgetall(this.key);
    return sortWarnings(Object.values(stored).map((json) => JSON.parse(json) as StoredWarning));
  }

  /**
   * Makes `found` the warnings of `kinds` (those a check decided): new ones are
   * added, changed messages rewritten, those no longer found removed.
   */
  async update(
    kinds: readonly DriftKind[],
    found: readonly DriftWarning[],
    now = Date.now(),
  ): Promise<DriftChange> {
    const before = new Map((await this.current()).map((w) => [driftId(w), w]));
    const change: DriftChange = { added: [], cleared: [] };
    const ids = new Set<string>();
    for (const w of found) {
      const id = driftId(w);
      ids.add(id);
      const old = before.get(id);
      const warning = { kind: w.kind, subject: w.subject, message: w.message };
      if (!old) {
        const stored = JSON.stringify({ ...warning, since: now });
        if (await this.redis.hsetnx(this.key, id, stored)) change.added.push(warning);
      } else if (old.message !== w.message) {
        await this.redis.hset(this.key, id, JSON.stringify({ ...warning, since: old.since }));
      }
    }
    for (const [id, old] of before)
      if (kinds.includes(old.kind) && !ids.has(id) && (await this.redis.hdel(this.key, id)))
        change.cleared.push(old);
    return change;
  }
}
