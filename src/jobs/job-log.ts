import type { Job } from 'bullmq';
import { appendLog, jobLogPlace, LOG_MAX_BYTES } from './job-log-store.js';

const FLUSH_MS = 250;
const TAIL_LINES = 40;
/** Longer lines are cut: one line must not make an entry (a read's unit) large. */
export const LINE_MAX_CHARS = 16 * 1024;
/** Lines written together are grouped into entries of about this many characters. */
const ENTRY_CHARS = 16 * 1024;

/** Where batches of lines go. */
export interface LogSink {
  append(entries: string[]): Promise<unknown>;
}

const isSink = (x: Job | LogSink): x is LogSink => typeof (x as LogSink).append === 'function';

/**
 * Streams a job's output into its BullMQ log (what the web UI tails), batching
 * lines so a chatty build does not cost a Redis round trip per line. The log
 * keeps its last `maxBytes`: older entries are dropped, and counted, as it grows.
 */
export class JobLog {
  private pending: string[] = [];
  private readonly tail: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private readonly sink: LogSink;

  constructor(job: Job | LogSink, maxBytes = LOG_MAX_BYTES) {
    if (isSink(job)) this.sink = job;
    else {
      const place = jobLogPlace(job);
      this.sink = { append: (entries) => appendLog(place, entries, maxBytes) };
    }
  }

  line(text: string): void {
    const cut =
      text.length > LINE_MAX_CHARS
        ? `${text.slice(0, LINE_MAX_CHARS)} [… ${text.length - LINE_MAX_CHARS} more characters cut]`
        : text;
    this.pending.push(cut);
    this.tail.push(cut);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  lastLines(): string[] {
    return [...this.tail];
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length) {
      const entries = group(this.pending);
      this.pending = [];
      this.writing = this.writing.then(() => this.sink.append(entries)).catch(() => undefined);
    }
    await this.writing;
  }
}

/** Lines joined into entries of at most about ENTRY_CHARS (a line is never split). */
function group(lines: readonly string[]): string[] {
  const entries: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (current.length && size + line.length + 1 > ENTRY_CHARS) {
      entries.push(current.join('\n'));
      current = [];
      size = 0;
    }
    current.push(line);
    size += line.length + 1;
  }
  if (current.length) entries.push(current.join('\n'));
  return entries;
}
