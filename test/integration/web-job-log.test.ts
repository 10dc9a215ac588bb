import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_MAX_BYTES, queueLogPlace, readLogTail } from '../../src/jobs/job-log-store.js';
import { JobLog } from '../../src/jobs/job-log.js';
import { startWebStand, type WebStand } from '../helpers/web-stand.js';

const LINE = 'x'.repeat(1000);
const line = (i: number) => `${String(i).padStart(6, '0')} ${LINE}`;

describe('job logs: capped in Redis, keeping the tail; pages that never load a whole log', () => {
  let w: WebStand;
  let jobId: string;
  const written = 12_000; // ~12 MiB: past the 10 MiB cap

  beforeAll(async () => {
    w = await startWebStand({ repos: ['acme/chatty'], env: { DEPLOYER_UI_ACCESS: 'public' } });
    jobId = await w.addBuild('acme/chatty');
    const job = (await w.runtime.queues.build('linux-x86_64').getJob(jobId))!;
    // Two writers, as two attempts of the job would be: the cap holds across them.
    for (const half of [0, 1]) {
      const log = new JobLog(job);
      for (let i = half * (written / 2); i < (half + 1) * (written / 2); i++) {
        log.line(line(i));
        if (i % 500 === 499) await log.flush();
      }
      await log.flush();
    }
  });
  afterAll(async () => {
    await w?.close();
  });

  it('keeps the tail under the cap and counts what it dropped', async () => {
    const { logs } = await w.runtime.queues.build('linux-x86_64').getJobLogs(jobId);
    const bytes = logs.reduce((n, e) => n + Buffer.byteLength(e), 0);
    expect(bytes).toBeLessThanOrEqual(LOG_MAX_BYTES);
    expect(bytes).toBeGreaterThan(LOG_MAX_BYTES - 64 * 1024);
    const kept = logs.join('\n').split('\n');
    expect(kept.at(-1)).toBe(line(written - 1));
    const first = Number(kept[0].slice(0, 6));
    expect(kept).toEqual(Array.from({ length: written - first }, (_, i) => line(first + i)));
    const queue = w.runtime.queues.build('linux-x86_64');
    const { dropped } = await readLogTail(queueLogPlace(queue, jobId), 1);
    expect(dropped.lines).toBe(first);
  });

  it('the job page shows the end of a huge log, with a link to the rest', async () => {
    const res = await fetch(`${w.url}/jobs/${jobId}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.length).toBeLessThan(512 * 1024);
    expect(html).toContain(`<li>${line(written - 1)}</li>`);
    expect(html).toContain(`<a href="/jobs/${jobId}/log.txt">The whole log</a>`);
  });

  it('the whole log comes as text, saying first how much was dropped', async () => {
    const res = await fetch(`${w.url}/jobs/${jobId}/log.txt`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const lines = (await res.text()).split('\n');
    expect(lines[0]).toMatch(
      /^\[… \d+ earlier lines \(\d+\.\d MiB\) dropped: a job log keeps its last 10\.0 MiB\]$/,
    );
    expect(lines[1]).toMatch(/^\d{6} x/);
    expect(lines.at(-2)).toBe(line(written - 1));
  });

  it('a log stream from the start says what was dropped, then sends the rest in order', async () => {
    const res = await fetch(`${w.url}/jobs/${jobId}/log?from=0`, {
      signal: AbortSignal.timeout(30_000),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const last = `data: ${line(written - 1)}\n`;
    const parts: string[] = [];
    let tail = '';
    while (!tail.includes(last)) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      tail = (tail + value).slice(-2 * last.length);
    }
    await reader.cancel();
    const text = parts.join('');
    const [marker] = text.split('\n\n');
    expect(marker).toMatch(/^id: \d+\ndata: \[… \d+ earlier lines/);
    const dropped = Number(/^id: (\d+)/.exec(marker)![1]);
    expect(text).toContain(`id: ${dropped + 1}\ndata: `);
    expect(text).toContain(`data: ${line(written - 1)}`);
  });
});
