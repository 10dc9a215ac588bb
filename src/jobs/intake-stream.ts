import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CommitEvent } from '../plan/commit-event.js';

/** A webhook delivery's commit, for a worker to take in (`acceptCommit`). */
export interface IntakeJobData {
  /** GitHub's delivery id (`X-GitHub-Delivery`): a redelivery carries the same. */
  delivery: string;
  commit: CommitEvent;
  rebuild?: boolean;
  /** A push's `before`. */
  before?: string;
}

/** One entry of the stream: the deliveries one write appended. */
export interface IntakeEntry {
  id: string;
  deliveries: IntakeJobData[];
  /** Fields that were not a delivery (never written by the receiver). */
  unreadable: number;
}

const GROUP = 'intake';
const FIELD = 'd';
const DAY_S = 24 * 3600;

type StreamEntry = [id: string, fields: string[] | null];

/**
 * The deliveries the receiver hands to the workers: a Redis stream, read through one
 * consumer group by every worker's intake.
 *
 * On the request path a delivery costs one `XADD` at most: the deliveries arriving
 * while a write is under way are written together, as one entry (group commit). No
 * script, no per-job hash and no pipeline object, which is what keeps the receiver
 * close to an app that only acknowledges. A redelivery is appended like any delivery;
 * the intake remembers for a day which deliveries it took in and skips it. An entry is
 * acknowledged and deleted once taken in, so the stream holds only the backlog; one
 * whose reader died stays pending and is claimed by another reader.
 */
export class IntakeStream {
  readonly key: string;
  private pending: { data: IntakeJobData; done: (err?: unknown) => void }[] = [];
  private writing = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.key = `${prefix}:intake:deliveries`;
  }

  /**
   * Appends a delivery. A lone one is written at once; those arriving while a write
   * is under way go together in the next one.
   */
  append(data: IntakeJobData): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ data, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.writing) void this.write();
    });
  }

  private async write(): Promise<void> {
    this.writing = true;
    // Deliveries read in the same turn of the event loop join the first write too.
    await new Promise(setImmediate);
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      try {
        const fields = batch.flatMap(({ data }) => [FIELD, JSON.stringify(data)]);
        await this.redis.xadd(this.key, '*', ...fields);
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
    }
    this.writing = false;
  }

  /** Entries (writes of one or more deliveries) not yet taken in. */
  length(): Promise<number> {
    return this.redis.xlen(this.key);
  }

  /** Whether every delivery appended has been taken in. */
  async drained(): Promise<boolean> {
    return (await this.length()) === 0;
  }

  /** Deliveries appended and not yet taken in (or being taken in). */
  async backlog(): Promise<number> {
    let count = 0;
    for (const entry of await this.entries(Infinity)) count += entry.deliveries.length;
    return count;
  }

  /** The entries waiting or being taken in, oldest first. */
  async entries(count = 1000): Promise<IntakeEntry[]> {
    const entries = (
      Number.isFinite(count)
        ? await this.redis.xrange(this.key, '-', '+', 'COUNT', count)
        : await this.redis.xrange(this.key, '-', '+')
    ) as StreamEntry[];
    return entries.map(toEntry);
  }

  /** The consumer group, from the stream's start so nothing appended before is missed. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.key, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  /** New entries for `consumer`, waiting up to `blockMs` on `conn` (a connection of its own). */
  async read(
    conn: Redis,
    consumer: string,
    count: number,
    blockMs: number,
  ): Promise<IntakeEntry[]> {
    const reply = (await conn.xreadgroup(
      'GROUP',
      GROUP,
      consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      this.key,
      '>',
    )) as [string, StreamEntry[]][] | null;
    return (reply?.[0]?.[1] ?? []).map(toEntry);
  }

  /** Entries another reader took and left for longer than `minIdleMs` (it died). */
  async claimIdle(consumer: string, minIdleMs: number, count: number): Promise<IntakeEntry[]> {
    const [, entries] = (await this.redis.xautoclaim(
      this.key,
      GROUP,
      consumer,
      minIdleMs,
      '0-0',
      'COUNT',
      count,
    )) as [string, StreamEntry[]];
    return entries.map(toEntry);
  }

  /** Keeps `consumer`'s hold on entries it is still working on (resets their idle time). */
  async hold(consumer: string, ids: string[]): Promise<void> {
    if (ids.length) await this.redis.xclaim(this.key, GROUP, consumer, 0, ...ids, 'JUSTID');
  }

  /** Whether the intake took this delivery in before (within a day). */
  async taken(delivery: string): Promise<boolean> {
    return (await this.redis.exists(this.takenKey(delivery))) === 1;
  }

  /** A delivery taken in, remembered for a day (one that failed for good is not). */
  async remember(delivery: string): Promise<void> {
    await this.redis.set(this.takenKey(delivery), '1', 'EX', DAY_S);
  }

  /** Done with an entry: acknowledged and deleted. */
  async finish(entry: IntakeEntry): Promise<void> {
    await this.redis.multi().xack(this.key, GROUP, entry.id).xdel(this.key, entry.id).exec();
  }

  /** Removes a reader that holds nothing (a worker shutting down cleanly). */
  async leave(consumer: string): Promise<void> {
    const held = (await this.redis.xpending(this.key, GROUP, '-', '+', 1, consumer)) as unknown[];
    if (held.length === 0) await this.redis.xgroup('DELCONSUMER', this.key, GROUP, consumer);
  }

  /** Removes readers gone for longer than `idleMs` that hold nothing (killed workers). */
  async forgetGone(idleMs: number): Promise<void> {
    const consumers = (await this.redis.xinfo('CONSUMERS', this.key, GROUP)) as unknown[][];
    for (const fields of consumers) {
      const info = Object.fromEntries(
        fields.flatMap((v, i) => (i % 2 === 0 ? [[String(v), fields[i + 1]]] : [])),
      ) as { name?: string; pending?: number; idle?: number };
      if (info.name && info.pending === 0 && (info.idle ?? 0) > idleMs)
        await this.redis.xgroup('DELCONSUMER', this.key, GROUP, info.name);
    }
  }

  // Delivery ids are the sender's text: hashed, they make a key of known shape.
  private takenKey(delivery: string): string {
    const hash = createHash('sha256').update(delivery).digest('hex').slice(0, 32);
    return `${this.prefix}:intake:taken:${hash}`;
  }
}

function toEntry([id, fields]: StreamEntry): IntakeEntry {
  const entry: IntakeEntry = { id, deliveries: [], unreadable: 0 };
  for (let i = 0; fields && i + 1 < fields.length; i += 2) {
    try {
      if (fields[i] !== FIELD) throw new Error('not a delivery');
      entry.deliveries.push(JSON.parse(fields[i + 1]) as IntakeJobData);
    } catch {
      entry.unreadable++;
    }
  }
  return entry;
}
