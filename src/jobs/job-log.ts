import type { Job } from 'bullmq';

const FLUSH_MS = 250;
const TAIL_LINES = 40;

/**
 * Streams a job's output into its BullMQ log (what the web UI tails), batching
 * lines so a chatty build does not cost a Redis round trip per line.
 */
export class JobLog {
  private pending: string[] = [];
  private readonly tail: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly job: Pick<Job, 'log'>) {}

  line(text: string): void {
    this.pending.push(text);
    this.tail.push(text);
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
      const batch = this.pending.join('\n');
      this.pending = [];
      this.writing = this.writing.then(() => this.job.log(batch)).catch(() => undefined);
    }
    await this.writing;
  }
}
