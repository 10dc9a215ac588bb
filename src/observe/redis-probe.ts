import type { Redis } from 'ioredis';
import { withDeadline } from './deadline.js';

/** How long a PING may take before Redis counts as down. */
const REDIS_PING_TIMEOUT_MS = 500;

/** The connection was lost (or closed): waiting for an answer would only wait for a retry. */
const LOST = new Set(['reconnecting', 'close', 'end']);

/**
 * Whether Redis answers, asked without waiting on it: a lost connection (being
 * made again after Redis went away) counts as down at once, and a PING, which may
 * also wait for the first connection, is given `timeoutMs`. The process's
 * connection retries commands for ever (BullMQ needs that), so nothing that must
 * answer quickly may await it directly.
 */
export class RedisProbe {
  private asking?: Promise<boolean>;

  constructor(
    private readonly redis: Pick<Redis, 'status' | 'ping'>,
    private readonly timeoutMs = REDIS_PING_TIMEOUT_MS,
  ) {}

  /** Calls while a PING is out share its answer, so a scrape sends one. */
  answers(): Promise<boolean> {
    if (LOST.has(this.redis.status)) return Promise.resolve(false);
    this.asking ??= withDeadline(
      this.redis.ping().then((pong) => pong === 'PONG'),
      this.timeoutMs,
      false,
    ).finally(() => (this.asking = undefined));
    return this.asking;
  }
}
