import type { ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import { droppedLine, readLogFrom, type LogPlace } from '../jobs/job-log-store.js';
import { FINISHED } from './job-page.js';

/** One server-sent event; each line of `data` is a `data:` field, as the format requires. */
export function sseEvent(e: { id?: string; event?: string; data: string }): string {
  const head = (e.id !== undefined ? `id: ${e.id}\n` : '') + (e.event ? `event: ${e.event}\n` : '');
  return `${head}${e.data
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}\n`)
    .join('')}\n`;
}

/** How much of a log is read from Redis, and written, at a time. */
export const LOG_CHUNK_BYTES = 256 * 1024;
/** A log stream ends after this long even if the job has not (the page says to reload). */
export const STREAM_MAX_MS = 30 * 60_000;

export interface StreamOptions {
  pollMs?: number;
  /** A comment line after this long without data, so proxies keep the connection. */
  heartbeatMs?: number;
  /** True once the server is closing: streams end so that it can (a browser reconnects elsewhere). */
  stopped?: () => boolean;
  maxMs?: number;
  chunkBytes?: number;
}

/** Writes and waits while the client is slow: a big log is sent at the pace it is read. */
async function send(res: ServerResponse, text: string): Promise<void> {
  if (!res.write(text) && !res.destroyed)
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
}

/**
 * Streams a job's log from entry `from` as server-sent events, one per log entry
 * (its `id` is the number of entries sent, for reconnects), polling every ~300 ms;
 * entries dropped by the log's cap before they were sent come as one line saying so.
 * Ends with an `end` event carrying the job's state once it finished and all of
 * its log was sent, or an `expired` event after `maxMs`.
 */
export async function streamLog(
  queue: Pick<Queue, 'getJob'>,
  place: LogPlace,
  jobId: string,
  from: number,
  res: ServerResponse,
  opts: StreamOptions = {},
): Promise<void> {
  const pollMs = opts.pollMs ?? 300;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const deadline = Date.now() + (opts.maxMs ?? STREAM_MAX_MS);
  const chunk = opts.chunkBytes ?? LOG_CHUNK_BYTES;
  let open = true;
  res.once('close', () => (open = false)); // the client went away, or we ended
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx: pass events on as they come
  });
  res.flushHeaders();
  let next = from;
  let quietSince = Date.now();
  while (open && !opts.stopped?.()) {
    const job = await queue.getJob(jobId);
    // State before log: a job writes its whole log before it finishes.
    const state = job ? await job.getState() : 'unknown';
    const w = await readLogFrom(place, next, chunk);
    if (w.start > next) {
      next = w.start;
      await send(res, sseEvent({ id: String(next), data: droppedLine(w.dropped) }));
    }
    for (const entry of w.entries) await send(res, sseEvent({ id: String(++next), data: entry }));
    if (w.entries.length) quietSince = Date.now();
    if (w.entries.length && next < w.total) continue; // more was there already: no pause
    if (!job || FINISHED.has(state)) {
      res.end(sseEvent({ event: 'end', data: state }));
      return;
    }
    if (Date.now() > deadline) {
      res.end(sseEvent({ event: 'expired', data: 'live view ended; reload the page' }));
      return;
    }
    if (Date.now() - quietSince > heartbeatMs) {
      res.write(': still running\n\n');
      quietSince = Date.now();
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  res.end();
}

/** The whole kept log as plain text, read and sent a chunk at a time. */
export async function sendLogText(
  place: LogPlace,
  res: ServerResponse,
  chunk = LOG_CHUNK_BYTES,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-cache',
  });
  let next = 0;
  let open = true;
  res.once('close', () => (open = false));
  while (open) {
    const w = await readLogFrom(place, next, chunk);
    if (w.start > next) await send(res, `${droppedLine(w.dropped)}\n`);
    if (!w.entries.length) break;
    await send(res, `${w.entries.join('\n')}\n`);
    next = w.start + w.entries.length;
    if (next >= w.total) break;
  }
  res.end();
}
