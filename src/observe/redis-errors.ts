import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactUrl } from '../config/env.js';

/** How often an unreachable Redis is said again while it stays unreachable. */
const REPEAT_MS = 30_000;

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Errors that only say Redis cannot be reached (every client of the process sees them). */
export function isConnectionError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return (
    (code !== undefined && CONNECTION_CODES.has(code)) || /Connection is closed/.test(err.message)
  );
}

/**
 * Reports Redis being unreachable as one line naming REDIS_URL, repeated at most
 * every `repeatMs` however many clients and retries fail meanwhile, and says when
 * it answers again. Returns the reporter for other clients' connection errors.
 */
export function reportRedisErrors(
  redis: Pick<Redis, 'on'>,
  url: string,
  log: Pick<Logger, 'error' | 'info'>,
  repeatMs = REPEAT_MS,
): (err: Error) => void {
  const where = `Redis at ${redactUrl(url)} (REDIS_URL)`;
  let saidAt: number | undefined;
  const report = (err: Error) => {
    const now = Date.now();
    if (saidAt !== undefined && now - saidAt < repeatMs) return;
    saidAt = now;
    log.error({ err: err.message }, `cannot reach ${where}`);
  };
  redis.on('error', report);
  redis.on('ready', () => {
    if (saidAt !== undefined) log.info(`${where} answers again`);
    saidAt = undefined;
  });
  return report;
}

/** Where the errors of a runtime's Redis connection and queues go: one throttled line while Redis is away. */
export function reportRuntimeErrors(
  runtime: { redis: Pick<Redis, 'on'>; queues: { onError: (err: Error) => void } },
  url: string,
  log: Pick<Logger, 'error' | 'info'>,
): void {
  const unreachable = reportRedisErrors(runtime.redis, url, log);
  runtime.queues.onError = (err) =>
    isConnectionError(err) ? unreachable(err) : log.error({ err: err.message }, 'queue error');
}
