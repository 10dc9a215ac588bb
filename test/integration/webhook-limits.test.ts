import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import type { ReceiverLimits } from '../../src/receiver/limits.js';
import { startReceiver } from '../../src/receiver/server.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import { testFlavour } from '../helpers/flavour.js';
import { redisUrl, sign, uniqueName, WEBHOOK_SECRET } from '../helpers/harness.js';
import { createTestProbot } from '../helpers/probot.js';

const KB = 1024;
/** Short versions of the defaults, so each limit shows within a second or two. */
const limits: ReceiverLimits = {
  maxBytes: 25 * KB * KB,
  idleMs: 400,
  inFlightBytes: 1024 * KB,
  headersTimeoutMs: 1_000,
  requestTimeoutMs: 2_000,
  maxConnections: 20,
};

/** A connection that sends `text` and records what comes back until the server closes it. */
interface Raw {
  socket: Socket;
  /** What the server answered, once it closed the connection, and after how long. */
  closed: Promise<{ answer: string; ms: number }>;
}

function raw(port: number, text: string): Raw {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d.toString()));
  socket.on('error', () => undefined);
  socket.write(text);
  const closed = new Promise<{ answer: string; ms: number }>((resolve) =>
    socket.once('close', () => resolve({ answer, ms: Date.now() - started })),
  );
  return { socket, closed };
}

const head = (contentLength: number, extra = '') =>
  [
    'POST /api/github/webhooks HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    'X-GitHub-Event: push',
    `X-GitHub-Delivery: ${randomUUID()}`,
    `X-Hub-Signature-256: sha256=${'0'.repeat(64)}`,
    `Content-Length: ${contentLength}`,
    '',
    extra,
  ].join('\r\n');

describe('receiver limits against slow and oversized senders', () => {
  let runtime: Runtime;
  let server: Server;
  let port: number;
  let url: string;

  beforeAll(async () => {
    const env = { ...readEnv({ REDIS_URL: redisUrl() }), prefix: uniqueName('t') };
    runtime = createRuntime(
      env,
      parseFlavour({ name: uniqueName('limits'), ...testFlavour() }, 'test'),
    );
    server = await startReceiver({
      probot: createTestProbot(),
      webhookSecret: WEBHOOK_SECRET,
      deps: runtime,
      port: 0,
      host: '127.0.0.1',
      limits,
    });
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await runtime?.close();
  });

  const valid = async () => {
    const body = '{"zen":"Keep it logically awesome."}';
    const res = await fetch(`${url}/api/github/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'ping',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': sign(body),
      },
      body,
    });
    return res.status;
  };

  it('closes a connection whose headers never end (408 after the headers timeout)', async () => {
    const { closed } = raw(port, 'POST /api/github/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const { answer, ms } = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 50);
    expect(ms).toBeLessThan(limits.headersTimeoutMs + 2_000);
  });

  it('answers 408 to a body that stops coming, and closes the connection', async () => {
    const { closed } = raw(port, head(1_000, '{"ref":'));
    const { answer, ms } = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('request body timeout');
    expect(ms).toBeLessThan(limits.idleMs + 1_000);
  });

  it('cuts a body trickled faster than the idle limit once the request timeout has passed', async () => {
    const { socket, closed } = raw(port, head(1_000));
    const timer = setInterval(() => socket.write('1'), limits.idleMs / 4);
    const { ms } = await closed.finally(() => clearInterval(timer));
    expect(ms).toBeGreaterThanOrEqual(limits.requestTimeoutMs - 50);
    expect(ms).toBeLessThan(limits.requestTimeoutMs + 2_000);
  });

  it('refuses a declared length over 25 MB at once (413), reading none of it', async () => {
    const { closed } = raw(port, head(limits.maxBytes + 1));
    const { answer, ms } = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(ms).toBeLessThan(limits.idleMs);
  });

  it('refuses a body that would take the bytes in flight over their limit (503), then recovers', async () => {
    const first = raw(port, head(limits.inFlightBytes, 'x'.repeat(limits.inFlightBytes - 10)));
    await new Promise((r) => setTimeout(r, 100)); // the first is held, waiting for 10 bytes
    const second = raw(port, head(64 * KB, 'y'.repeat(64 * KB)));
    expect((await second.closed).answer).toMatch(/^HTTP\/1\.1 503/);
    expect((await first.closed).answer).toMatch(/^HTTP\/1\.1 408/); // it never finished
    expect(await valid()).toBe(200);
  });

  it('closes connections beyond the cap, and takes new ones once those are gone', async () => {
    const held = Array.from({ length: limits.maxConnections }, () =>
      raw(port, 'POST /api/github/webhooks HTTP/1.1\r\n'),
    );
    await new Promise((r) => setTimeout(r, 100));
    const beyond = raw(port, head(2, '{}'));
    const { answer, ms } = await beyond.closed;
    expect(answer).toBe(''); // dropped unanswered
    expect(ms).toBeLessThan(limits.headersTimeoutMs);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    expect(await valid()).toBe(200);
  });
});
