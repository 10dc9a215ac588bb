import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobLog } from '../../src/jobs/job-log.js';

/** A stand-in for the job's log in Redis: records each batch, its entries joined. */
function fakeJob(write: (row: string) => Promise<void> = async () => undefined) {
  const calls: string[] = [];
  return {
    calls,
    job: {
      append: async (entries: string[]): Promise<number> => {
        const row = entries.join('\n');
        calls.push(row);
        await write(row);
        return calls.length;
      },
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('JobLog', () => {
  it('writes pending lines as one batch on flush', async () => {
    const { calls, job } = fakeJob();
    const log = new JobLog(job);
    log.line('Fetching acme/web');
    log.line('#1 [1/2] FROM scratch');
    log.line('#1 CACHED');
    expect(calls).toEqual([]);
    await log.flush();
    expect(calls).toEqual(['Fetching acme/web\n#1 [1/2] FROM scratch\n#1 CACHED']);
  });

  it('flushes by itself 250 ms after the first unwritten line', async () => {
    vi.useFakeTimers();
    const { calls, job } = fakeJob();
    const log = new JobLog(job);
    log.line('a');
    await vi.advanceTimersByTimeAsync(200);
    log.line('b');
    await vi.advanceTimersByTimeAsync(49);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['a\nb']);
    log.line('c');
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toEqual(['a\nb', 'c']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(['a\nb', 'c']);
  });

  it('writes nothing when nothing is pending', async () => {
    const { calls, job } = fakeJob();
    const log = new JobLog(job);
    await log.flush();
    log.line('x');
    await log.flush();
    await log.flush();
    expect(calls).toEqual(['x']);
  });

  it('keeps the last 40 lines for the check run', () => {
    const log = new JobLog(fakeJob().job);
    expect(log.lastLines()).toEqual([]);
    for (let i = 1; i <= 100; i++) log.line(`line ${i}`);
    const tail = log.lastLines();
    expect(tail).toHaveLength(40);
    expect(tail[0]).toBe('line 61');
    expect(tail[39]).toBe('line 100');
    tail.push('changed');
    expect(log.lastLines()).toHaveLength(40);
  });

  it('keeps the tail after flushing', async () => {
    const log = new JobLog(fakeJob().job);
    log.line('one');
    await log.flush();
    log.line('two');
    expect(log.lastLines()).toEqual(['one', 'two']);
  });

  it('writes batches in order, one at a time, even when a write is slow', async () => {
    const releases: (() => void)[] = [];
    const { calls, job } = fakeJob(() => new Promise<void>((resolve) => releases.push(resolve)));
    const log = new JobLog(job);
    log.line('first');
    const first = log.flush();
    log.line('second');
    log.line('third');
    const second = log.flush();
    await vi.waitFor(() => expect(calls).toEqual(['first']));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual(['first']);
    releases.shift()!();
    await vi.waitFor(() => expect(calls).toEqual(['first', 'second\nthird']));
    releases.shift()!();
    await Promise.all([first, second]);
    expect(calls).toEqual(['first', 'second\nthird']);
  });

  it('goes on writing after a failed write, without throwing', async () => {
    let fail = true;
    const { calls, job } = fakeJob(async () => {
      if (fail) {
        fail = false;
        throw new Error('Connection is closed.');
      }
    });
    const log = new JobLog(job);
    log.line('lost');
    await expect(log.flush()).resolves.toBeUndefined();
    log.line('kept');
    await log.flush();
    expect(calls).toEqual(['lost', 'kept']);
  });
});

describe('JobLog entry sizes', () => {
  it('cuts an overlong line and splits a big batch into entries of at most ~16 K characters', async () => {
    const entries: string[] = [];
    const log = new JobLog({ append: async (batch: string[]) => entries.push(...batch) });
    log.line('y'.repeat(100_000));
    for (let i = 0; i < 100; i++) log.line('z'.repeat(1000));
    await log.flush();
    expect(entries[0]).toMatch(/^y{16384} \[… 83616 more characters cut\]$/);
    expect(entries.length).toBeGreaterThan(6);
    for (const e of entries.slice(1)) expect(e.length).toBeLessThanOrEqual(16 * 1024);
    expect(entries.slice(1).join('\n').split('\n')).toHaveLength(100);
  });
});
