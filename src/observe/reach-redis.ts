import type { Redis } from 'ioredis';
import { redactUrl } from '../config/env.js';
import { withDeadline } from './deadline.js';

/** How long a command of the CLI waits for Redis before it gives up. */
const REACH_TIMEOUT_MS = 3_000;

export class RedisUnreachable extends Error {}

/**
 * Waits for Redis to answer a PING, at most `timeoutMs`: a command that only talks
 * to Redis (`pending`, `confirm`) says it cannot reach it instead of waiting for ever
 * (the connection retries commands for ever, as BullMQ needs).
 */
export async function reachRedis(
  redis: Pick<Redis, 'ping'>,
  url: string,
  timeoutMs = REACH_TIMEOUT_MS,
): Promise<void> {
  const answered = await withDeadline(
    redis.ping().then((pong) => pong === 'PONG'),
    timeoutMs,
    false,
  );
  if (!answered) throw new RedisUnreachable(`cannot reach Redis at ${redactUrl(url)} (REDIS_URL)`);
}
