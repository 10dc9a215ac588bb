// A webhook load generator, run as its own process (see intake.ts) so that the
// server under test keeps its event loop to itself. Loopback only; every phase
// is bounded in count and time.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pushPayload, type RepoRef } from '../test/helpers/payloads.js';

export type Phase =
  /** Open loop: delivery i is due at start + i/rate, whatever the answers. */
  | { kind: 'fixed'; rate: number; durationMs: number }
  /** As fast as the server answers, `concurrency` deliveries in flight. */
  | { kind: 'max'; durationMs: number };

export interface LoadRequest {
  url: string;
  secret: string;
  repo: RepoRef;
  branch: string;
  phase: Phase;
  /** Deliveries in flight at most; the rest wait (their wait counts in their latency). */
  concurrency: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  /** Answers other than 200, and network errors, by status ("error" for the latter). */
  failures: Record<string, number>;
  durationMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every delivery's latency, sorted (ms). */
  samples: number[];
  /** CPU time the load generator itself used (ms). */
  generatorCpuMs: number;
}

const MARK = '"@@SHA@@"';

/** Real `push` payloads of the watched repository, each with a sha of its own, signed. */
function deliveries(req: LoadRequest) {
  const template = JSON.stringify(pushPayload(req.repo, req.branch, '@@SHA@@'));
  const [head, tail] = template.split(MARK);
  if (tail === undefined) throw new Error('the sha placeholder is missing from the payload');
  const prefix = randomBytes(12).toString('hex'); // 24 hex digits, then a 16-digit counter
  let n = 0;
  return () => {
    const sha = prefix + (n++).toString(16).padStart(16, '0');
    const body = `${head}"${sha}"${tail}`;
    const signature = `sha256=${createHmac('sha256', req.secret).update(body).digest('hex')}`;
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signature,
      },
    };
  };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs one phase against `url` (Node's fetch: undici, keep-alive connections). */
export async function runLoad(req: LoadRequest): Promise<LoadResult> {
  const next = deliveries(req);
  const endpoint = `${req.url}/api/github/webhooks`;
  const { phase } = req;
  const cap =
    phase.kind === 'fixed' ? Math.ceil((phase.rate * phase.durationMs) / 1000) : 1_000_000;
  const latencies = new Float64Array(cap);
  const failures: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let done = 0;

  const deliver = async (due: number) => {
    const { body, headers } = next();
    try {
      const res = await fetch(endpoint, { method: 'POST', headers, body });
      await res.arrayBuffer(); // read to the end, so the connection is reused
      if (res.status === 200) ok++;
      else failures[res.status] = (failures[res.status] ?? 0) + 1;
    } catch {
      failures.error = (failures.error ?? 0) + 1;
    }
    latencies[done++] = performance.now() - due;
  };

  const cpu = process.cpuUsage();
  const start = performance.now();
  if (phase.kind === 'max') {
    const deadline = start + phase.durationMs;
    const lane = async () => {
      while (performance.now() < deadline && sent < cap) {
        sent++;
        await deliver(performance.now());
      }
    };
    await Promise.all(Array.from({ length: req.concurrency }, lane));
  } else {
    // Open loop: latency counts from when a delivery was due, so waiting for a
    // free slot (the server being slow) shows in the figures.
    const interval = 1000 / phase.rate;
    const waiting: number[] = [];
    let inFlight = 0;
    const launch = (due: number) => {
      inFlight++;
      void deliver(due).finally(() => {
        inFlight--;
        const queued = waiting.shift();
        if (queued !== undefined) launch(queued);
      });
    };
    for (let i = 0; i < cap; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      sent++;
      if (inFlight < req.concurrency) launch(due);
      else waiting.push(due);
    }
    while (done < sent) await new Promise((r) => setTimeout(r, 2));
  }
  const durationMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const sorted = latencies.subarray(0, done).sort();
  return {
    sent,
    ok,
    failures,
    durationMs,
    perSecond: (ok * 1000) / durationMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    samples: Array.from(sorted),
    generatorCpuMs: (used.user + used.system) / 1000,
  };
}

// As a child process: one phase per message, answered with its result.
if (process.send && process.argv[1] === import.meta.filename) {
  process.on('message', (msg: LoadRequest | 'exit') => {
    if (msg === 'exit') process.exit(0);
    runLoad(msg).then(
      (result) => process.send!({ result }),
      (err: Error) => process.send!({ error: err.stack ?? err.message }),
    );
  });
  process.send('ready');
}
