import type { Job, Queue } from 'bullmq';

/** What a job's log may hold (bytes); past it, the oldest entries go. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024;

/**
 * A job's log is BullMQ's list (`<job key>:logs`, what `job.log` appends to and
 * bull-board shows). The cap is kept with it: the job's hash counts the bytes in
 * the list and what was dropped, so readers can number entries from the first
 * ever written (`from` stays valid after the head is trimmed) and say how much is gone.
 */
export interface LogPlace {
  redis: Promise<ScriptRunner>;
  /** The job's hash; its log list is this key + `:logs`. */
  jobKey: string;
}

/** The one Redis command used here (ioredis's `eval`). */
export interface ScriptRunner {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** How much of a log was dropped to keep it under the cap. */
export interface Dropped {
  entries: number;
  lines: number;
  bytes: number;
}

/** A run of log entries: `start` is the number of entries written before the first of them. */
export interface LogWindow {
  start: number;
  entries: string[];
  /** Entries written so far (dropped ones included). */
  total: number;
  dropped: Dropped;
}

// The job's hash may be gone (removed while a write was under way): nothing is recreated then.
const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'logBytes') or '0')
for i = 2, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  bytes = bytes + #ARGV[i]
end
local max = tonumber(ARGV[1])
local entries, lines, dropped = 0, 0, 0
while bytes > max do
  local e = redis.call('LPOP', KEYS[2])
  if not e then bytes = 0 break end
  bytes = bytes - #e
  dropped = dropped + #e
  entries = entries + 1
  lines = lines + 1
  for _ in string.gmatch(e, '\\n') do lines = lines + 1 end
end
redis.call('HSET', KEYS[1], 'logBytes', bytes)
if entries > 0 then
  redis.call('HINCRBY', KEYS[1], 'logDroppedEntries', entries)
  redis.call('HINCRBY', KEYS[1], 'logDroppedLines', lines)
  redis.call('HINCRBY', KEYS[1], 'logDroppedBytes', dropped)
end
return bytes
`;

const HEAD = `
local d = redis.call('HMGET', KEYS[1], 'logDroppedEntries', 'logDroppedLines', 'logDroppedBytes')
local skipped = tonumber(d[1] or '0')
local len = redis.call('LLEN', KEYS[2])
local max = tonumber(ARGV[2])
`;
const TAIL = `
return {skipped, tonumber(d[2] or '0'), tonumber(d[3] or '0'), len, first, out}
`;

/** Entries from number ARGV[1] on, up to ARGV[2] bytes (at least one entry). */
const READ_FROM = `${HEAD}
local first = math.max(tonumber(ARGV[1]) - skipped, 0)
local out, bytes, i = {}, 0, first
while i < len do
  local slice = redis.call('LRANGE', KEYS[2], i, i + 15)
  if #slice == 0 then break end
  local full = false
  for _, e in ipairs(slice) do
    if #out > 0 and bytes + #e > max then full = true break end
    out[#out + 1] = e
    bytes = bytes + #e
  end
  if full then break end
  i = i + #slice
end
${TAIL}`;

/** The last entries, up to ARGV[2] bytes (at least one entry when there is any). */
const READ_TAIL = `${HEAD}
local first, bytes, hi = len, 0, len
while hi > 0 do
  local lo = math.max(hi - 16, 0)
  local slice = redis.call('LRANGE', KEYS[2], lo, hi - 1)
  local full = false
  for k = #slice, 1, -1 do
    if first < len and bytes + #slice[k] > max then full = true break end
    bytes = bytes + #slice[k]
    first = lo + k - 1
  end
  if full then break end
  hi = lo
end
local out = {}
if first < len then out = redis.call('LRANGE', KEYS[2], first, len - 1) end
${TAIL}`;

type Raw = [number, number, number, number, number, string[]];

function window(raw: Raw): LogWindow {
  const [skipped, lines, bytes, len, first, entries] = raw;
  return {
    start: skipped + first,
    entries,
    total: skipped + len,
    dropped: { entries: skipped, lines, bytes },
  };
}

const keys = (place: LogPlace): [string, string] => [place.jobKey, `${place.jobKey}:logs`];

/** Appends entries and drops the oldest past `maxBytes`; the bytes kept, or -1 without the job. */
export async function appendLog(
  place: LogPlace,
  entries: readonly string[],
  maxBytes = LOG_MAX_BYTES,
): Promise<number> {
  const redis = await place.redis;
  return (await redis.eval(APPEND, 2, ...keys(place), maxBytes, ...entries)) as number;
}

/** Entries from entry number `from` on (counted from the first ever written), up to about `maxBytes`. */
export async function readLogFrom(place: LogPlace, from: number, maxBytes: number) {
  const redis = await place.redis;
  return window((await redis.eval(READ_FROM, 2, ...keys(place), from, maxBytes)) as Raw);
}

/** The last entries of the log, up to about `maxBytes`. */
export async function readLogTail(place: LogPlace, maxBytes: number) {
  const redis = await place.redis;
  return window((await redis.eval(READ_TAIL, 2, ...keys(place), 0, maxBytes)) as Raw);
}

/** Where the log of a job read through a queue is. */
export const queueLogPlace = (queue: Queue, jobId: string): LogPlace => ({
  redis: queue.getBackend().client as Promise<unknown> as Promise<ScriptRunner>,
  jobKey: queue.toKey(jobId),
});

/**
 * Where the log of a job a worker runs is. BullMQ keeps the job's queue (here
 * the worker) protected; its Redis client is what `job.log` itself writes with.
 */
export function jobLogPlace(job: Job): LogPlace {
  type Backend = { client?: Promise<ScriptRunner> };
  const queue = (job as unknown as { queue?: { getBackend?: () => Backend } }).queue;
  const redis = queue?.getBackend?.().client;
  if (!redis) throw new Error('job-log: this BullMQ job has no queue with a Redis client');
  return { redis, jobKey: `${job.queueQualifiedName}:${job.id}` };
}

/** The line that stands for what was dropped. */
export function droppedLine(d: Dropped, maxBytes = LOG_MAX_BYTES): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `[… ${d.lines} earlier lines (${mib(d.bytes)}) dropped: a job log keeps its last ${mib(maxBytes)}]`;
}
