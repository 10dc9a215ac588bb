import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { repoKey, type RepoIndex } from '../config/repo-index.js';
import { acceptCommit, type IntakeDeps } from './intake.js';
import { moveOldIntakeQueue } from './intake-migrate.js';
import { IntakeStream, type IntakeEntry, type IntakeJobData } from './intake-stream.js';

export interface IntakeWorkerDeps extends IntakeDeps {
  index: RepoIndex;
}

/** What became of a delivery's commit (logged). */
export interface IntakeOutcome {
  repo?: string;
  enqueued: number;
  superseded?: string;
  stale?: string;
  ignored?: string;
}

/** Takes in the commit of one webhook delivery, as the receiver once did on the request path. */
export async function processIntake(
  deps: IntakeWorkerDeps,
  data: IntakeJobData,
): Promise<IntakeOutcome> {
  const { commit, rebuild, before } = data;
  const entry = deps.index.get(repoKey(commit.owner, commit.name));
  // The configuration changed between the delivery and now.
  if (!entry) return { enqueued: 0, ignored: 'repository not watched by this flavour' };
  const result = await acceptCommit(deps, entry, commit, { rebuild, before });
  return {
    repo: entry.fullName,
    enqueued: result.enqueued.length,
    ...(result.superseded ? { superseded: result.superseded } : {}),
    ...(result.stale ? { stale: result.stale } : {}),
  };
}

export interface IntakeWorkerOptions {
  deps: IntakeWorkerDeps;
  redis: Redis;
  prefix: string;
  log: Logger;
  /** An entry whose reader stopped (killed) is taken up by another after this long. */
  lockMs: number;
  /** Tries of one delivery before it is given up (each waits twice as long as the last). */
  attempts?: number;
  backoffMs?: number;
}

const BATCH = 32;
const BLOCK_MS = 1_000;
// A reader idle this long that holds nothing is a worker that was killed.
const GONE_MS = 24 * 3600 * 1000;

/**
 * Reads the deliveries of the intake stream (src/jobs/intake-stream.ts) and takes each
 * in, in the order they came: a delivery that fails is retried with backoff before the
 * next, so pushes to one ref keep their order. Between processes, the head swap keeps
 * deliveries of one ref from racing. Returns a function that stops it.
 */
export function startIntakeWorker(opts: IntakeWorkerOptions): () => Promise<void> {
  const { deps, log, lockMs } = opts;
  const attempts = opts.attempts ?? 5;
  const backoffMs = opts.backoffMs ?? 1_000;
  const stream = new IntakeStream(opts.redis, opts.prefix);
  // XREADGROUP blocks its connection: it gets one of its own.
  const blocking = opts.redis.duplicate();
  blocking.on('error', () => undefined); // reported through the shared connection
  const consumer = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  let stopping = false;
  let halt!: () => void;
  // Settles when stop() is called: a read waiting on a Redis that is down never would.
  const halted = new Promise<IntakeEntry[]>((r) => (halt = () => r([])));
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Takes one delivery in, retrying it with backoff; gives it up after `attempts`. */
  const take = async (data: IntakeJobData): Promise<void> => {
    const fields = { delivery: data.delivery, sha: data.commit.sha, ref: data.commit.ref };
    if (await stream.taken(data.delivery)) {
      log.debug(fields, 'redelivery already taken in');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await processIntake(deps, data);
        await stream.remember(data.delivery);
        if (outcome.stale)
          log.info({ ...fields, ...outcome }, 'push older than the ref head ignored');
        else if (outcome.ignored) log.debug({ ...fields, ...outcome }, 'delivery ignored');
        else log.info({ ...fields, ...outcome }, 'commit accepted');
        return;
      } catch (err) {
        // Stopping: the entry stays pending, for another reader to take up.
        if (stopping) throw err;
        const reason = (err as Error).message;
        if (attempt >= attempts) {
          log.error({ ...fields, attempts: attempt, reason }, 'intake of a delivery failed');
          return;
        }
        log.warn({ ...fields, attempt, reason }, 'intake of a delivery failed; retrying');
        await pause(backoffMs * 2 ** (attempt - 1));
        if (stopping) throw err;
      }
    }
  };

  const takeAll = async (entry: IntakeEntry): Promise<void> => {
    if (entry.unreadable)
      log.error({ entry: entry.id, fields: entry.unreadable }, 'unreadable intake fields dropped');
    for (const data of entry.deliveries) await take(data);
    await stream.finish(entry);
  };

  /**
   * Takes a batch in, in order. The entries not finished yet are held all along, so
   * that no other reader claims one as left by a dead worker while it waits its turn.
   */
  const takeBatch = async (entries: IntakeEntry[]): Promise<void> => {
    const left = new Set(entries.map((e) => e.id));
    const holding = setInterval(
      () => void stream.hold(consumer, [...left]).catch(() => undefined),
      Math.max(100, lockMs / 3),
    );
    try {
      for (const entry of entries) {
        if (stopping) break; // the rest stays pending, for another reader
        await takeAll(entry);
        left.delete(entry.id);
      }
    } finally {
      clearInterval(holding);
    }
  };

  const run = async () => {
    let lastClaim = 0;
    let grouped = false;
    while (!stopping) {
      try {
        if (!grouped) {
          await stream.ensureGroup();
          await moveOldIntakeQueue(opts.redis, opts.prefix, stream, log);
          await stream.forgetGone(GONE_MS);
          grouped = true;
        }
        let entries: IntakeEntry[] = [];
        // Entries left pending (a reader killed, or this one's batch broken off by an
        // error) are claimed once idle for the lock time, by whichever reader asks first.
        if (Date.now() - lastClaim >= lockMs / 2) {
          entries = await stream.claimIdle(consumer, lockMs, BATCH);
          lastClaim = Date.now();
        }
        if (!entries.length)
          entries = await Promise.race([stream.read(blocking, consumer, BATCH, BLOCK_MS), halted]);
        await takeBatch(entries);
      } catch (err) {
        if (stopping) break;
        grouped = false; // the stream may be gone (a Redis restarted without its data)
        log.error({ err: (err as Error).message }, 'intake worker error');
        await pause(BLOCK_MS);
      }
    }
  };
  const running = run();

  return async () => {
    stopping = true;
    halt();
    blocking.disconnect(); // ends a blocked read at once
    await running;
    // Leaving is tidying up: not worth waiting for a Redis that is down.
    if (opts.redis.status === 'ready') await stream.leave(consumer).catch(() => undefined);
  };
}
