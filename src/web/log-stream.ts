import type { ServerResponse } from 'node:http';
import type { Queue } from 'bullmq';
import { FINISHED } from './job-page.js';

/** One server-sent event; each line of `data` is a `data:` field, as the format requires. */
export function sseEvent(e: { id?: string; event?: string; data: string }): string {
  const head = (e.id !== undefined ? `id: ${e.id}\n` : '') + (e.event ? `event: ${e.event}\n` : '');
  return `${head}${e.data
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}\n`)
    .join('')}\n`;
}

export interface StreamOptions {
  pollMs?: number;
  /** A comment line after this long without data, so proxies keep the connection. */
  heartbeatMs?: number;
  /** True once the server is closing: streams end so that it can (a browser reconnects elsewhere). */
  stopped?: () => boolean;
}

/**
 * Streams a job's log from entry `from` as server-sent events, one per log entry
 * (its `id` is the number of entries sent, for reconnects), polling every ~300 ms;
 * ends with an `end` event carrying the job's state once it finished and all of
 * its log was sent.
 */
export async function streamLog(
  queue: Pick<Queue, 'getJob' | 'getJobLogs'>,
  jobId: string,
  from: number,
  res: ServerResponse,
  opts: StreamOptions = {},
): Promise<void> {
  const pollMs = opts.pollMs ?? 300;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
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
    const { logs } = await queue.getJobLogs(jobId, next, -1, true);
    for (const entry of logs) res.write(sseEvent({ id: String(++next), data: entry }));
    if (logs.length) quietSince = Date.now();
    if (!job || FINISHED.has(state)) {
      res.end(sseEvent({ event: 'end', data: state }));
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
