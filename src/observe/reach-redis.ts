import type { Redis } from 'ioredis';
import { redactUrl } from '../config/env.js';
import { RedisProbe } from './redis-probe.js';

/** How long a command of the CLI waits for Redis before it gives up. */
const REACH_TIMEOUT_MS = 3_000;

export class RedisUnreachable extends Error {}

/**
 * Throws unless Redis answers within `timeoutMs`: a command that only talks to Redis
 * (`pending`, `confirm`) says it cannot reach it instead of waiting for ever (the
 * connection retries commands for ever, as BullMQ needs).
 */
export async function reachRedis(
  redis: Pick<Redis, 'status' | 'ping'>,
  url: string,
  timeoutMs = REACH_TIMEOUT_MS,
): Promise<void> {
  if (!(await new RedisProbe(redis, timeoutMs).answers()))
    throw new RedisUnreachable(`cannot reach Redis at ${redactUrl(url)} (REDIS_URL)`);
}
