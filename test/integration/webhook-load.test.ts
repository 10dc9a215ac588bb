import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFlavour } from '../helpers/flavour.js';
import { sign } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';
import { spawnReceiver, type ReceiverProcess } from '../helpers/receiver-process.js';

const MB = 1024 * 1024;
const BIG_BODIES = 20;
const TRICKLERS = 200;
const BIG = 25 * MB - 1024; // just under GitHub's cap: read to the end, never refused for size
const ATTACK_MS = 8_000;
const PROBE_EVERY_MS = 250;
/** What the receiver holds of bodies being read (256 MB), plus the buffers' own overhead. */
const PEAK_GROWTH_MB = 350;

/** A 25 MB JSON array of numbers: costly to parse (millions of values), so a receiver
 * that parses before checking the signature shows it in its heap and latency. */
const bigBody = Buffer.alloc(BIG, '0,');
bigBody[0] = 0x5b; // [
bigBody[BIG - 2] = 0x30; // 0
bigBody[BIG - 1] = 0x5d; // ]

/** POSTs `body` with a signature made with another secret; resolves with the status. */
function postUnsigned(url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/github/webhooks`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'x-github-event': 'push',
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
        },
        timeout: 60_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A sender that opens a connection and sends a byte at a time, never finishing: half of
 * them stall in the headers, half in a body that claims 25 MB.
 */
function trickle(port: number, inBody: boolean, until: number): Promise<void> {
  const head = [
    'POST /api/github/webhooks HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    'X-GitHub-Event: push',
    `X-GitHub-Delivery: ${randomUUID()}`,
    `X-Hub-Signature-256: sha256=${'0'.repeat(64)}`,
    `Content-Length: ${25 * MB}`,
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let sent = inBody ? head.length : 0;
    const timer = setInterval(() => {
      if (Date.now() > until || socket.destroyed) return finish();
      socket.write(sent < head.length ? head[sent++] : '[');
    }, 500);
    const finish = () => {
      clearInterval(timer);
      socket.destroy();
      resolve();
    };
    socket.on('error', finish).on('close', finish);
    socket.once('connect', () => inBody && socket.write(head));
  });
}

interface Probe {
  /** 0 when no answer came. */
  status: number;
  ms: number;
}

/** A valid signed delivery (a push of a repository nobody watches): its answer and latency. */
async function probe(url: string): Promise<Probe> {
  const sha = randomUUID().replace(/-/g, '').padEnd(40, '0');
  const body = JSON.stringify(
    pushPayload({ owner: 'acme', name: 'elsewhere', cloneUrl: '' }, 'main', sha),
  );
  const started = performance.now();
  try {
    const res = await fetch(`${url}/api/github/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': sign(body),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await res.text();
    return { status: res.status, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
}

const mb = (bytes: number) => Math.round(bytes / MB);

describe('the receiver under 20 unsigned 25 MB bodies and 200 slow senders (its own process)', () => {
  let receiver: ReceiverProcess;

  beforeAll(async () => {
    receiver = await spawnReceiver(testFlavour());
  });
  afterAll(async () => {
    await receiver?.stop();
  });

  it('keeps answering a valid delivery within 1 s, its memory bounded', async () => {
    const { url } = receiver;
    const port = Number(new URL(url).port);
    for (let i = 0; i < 5; i++) expect((await probe(url)).status).toBe(200); // warmed up
    const before = receiver.memory();
    const cpuBefore = receiver.cpuMs();

    const attackStarted = performance.now();
    const until = Date.now() + ATTACK_MS;
    const tricklers = Array.from({ length: TRICKLERS }, (_, i) =>
      trickle(port, i % 2 === 1, until),
    );
    await new Promise((r) => setTimeout(r, 500)); // all connected and stalling
    let bigDone = false;
    let bigMs = 0;
    const big = Promise.allSettled(
      Array.from({ length: BIG_BODIES }, () => postUnsigned(url, bigBody)),
    ).finally(() => {
      bigDone = true;
      bigMs = performance.now() - attackStarted;
    });
    const probes: Probe[] = [];
    while (Date.now() < until && !(bigDone && probes.length >= 10)) {
      probes.push(await probe(url));
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
    const answers = (await big).map((r) => (r.status === 'fulfilled' ? r.value : 0));
    const after = receiver.memory();
    const cpuMs = receiver.cpuMs() - cpuBefore;
    await Promise.all(tricklers);

    const ms = probes.map((p) => p.ms).sort((a, b) => a - b);
    const figures = {
      rssBeforeMB: mb(before.rss),
      rssPeakMB: mb(after.peak),
      rssAfterMB: mb(after.rss),
      probes: probes.length,
      probeMedianMs: Math.round(ms[Math.floor(ms.length / 2)]),
      probeMaxMs: Math.round(ms[ms.length - 1]),
      bigAnswers: answers.join(' '),
      receiverCpuMs: Math.round(cpuMs),
      bigBodiesAnsweredMs: Math.round(bigMs),
    };
    console.log('webhook load figures', figures);
    // Refused for their signature, or for want of room while 256 MB were being read.
    for (const status of answers) expect([400, 503]).toContain(status);
    expect(probes.filter((p) => p.status !== 200)).toEqual([]);
    expect(figures.probeMaxMs).toBeLessThan(1_000);
    expect(figures.rssPeakMB - figures.rssBeforeMB).toBeLessThan(PEAK_GROWTH_MB);
    expect((await probe(url)).status).toBe(200);
  }, 60_000);
});
