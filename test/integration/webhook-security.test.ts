import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { sign, startHarness, type Harness } from '../helpers/harness.js';
import { pushPayload } from '../helpers/payloads.js';

const web = { owner: 'acme', name: 'web', cloneUrl: 'https://github.com/acme/web.git' };
const sha = (): string => randomUUID().replace(/-/g, '').padEnd(40, '0');

/** A raw POST to the webhook endpoint: every header as given, none filled in. */
function post(h: Harness, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${h.url}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

const signedHeaders = (event: string, body: string) => ({
  'x-github-event': event,
  'x-github-delivery': randomUUID(),
  'x-hub-signature-256': sign(body),
});

/** Every delivery in the intake and job in the build and checks queues, whatever its state. */
async function queued(h: Harness): Promise<number> {
  const { queues } = h.deployer.runtime;
  let total = 0;
  for (const queue of [queues.build('linux-x86_64'), queues.checks]) {
    const counts = await queue.getJobCounts();
    total += Object.values(counts).reduce((a, b) => a + b, 0);
  }
  return total + (await queues.intake.backlog());
}

async function expectNothingEnqueued(h: Harness): Promise<void> {
  expect(await queued(h)).toBe(0);
  expect(await h.deployer.runtime.store.heads('acme/web')).toEqual({});
  expect(h.github.requests).toEqual([]);
}

describe('webhook endpoint over HTTP: signatures, malformed and hostile input', () => {
  let h: Harness;
  const all: Harness[] = [];

  beforeEach(async () => {
    // A fresh prefix and flavour per test: no test sees another's queues.
    h = await startHarness(testFlavour({ repos: [testRepo('acme/web')] }), { worker: false });
    all.push(h);
  });
  afterEach(async () => {
    expect(h.github.problems).toEqual([]);
  });
  afterAll(async () => {
    await Promise.all(all.map((x) => x.close()));
  });

  it('a bad signature is refused with 400 and nothing is enqueued', async () => {
    const body = JSON.stringify(pushPayload(web, 'main', sha()));
    const res = await post(h, body, {
      ...signedHeaders('push', body),
      'x-hub-signature-256': sign(body, 'not-the-secret'),
    });
    expect(res.status).toBe(400);
    await expectNothingEnqueued(h);
  });

  it('a missing signature is refused with 400', async () => {
    const body = JSON.stringify(pushPayload(web, 'main', sha()));
    const headers: Record<string, string> = signedHeaders('push', body);
    delete headers['x-hub-signature-256'];
    const res = await post(h, body, headers);
    expect(res.status).toBe(400);
    await expectNothingEnqueued(h);
  });

  it('malformed JSON with a valid signature gets a 4xx, and the server keeps answering', async () => {
    const body = '{"ref": "refs/heads/main", "after": ';
    const res = await post(h, body, signedHeaders('push', body));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await expectNothingEnqueued(h);

    const ok = await h.send('push', pushPayload(web, 'main', sha()));
    expect(ok.status).toBe(200);
    // The receiver enqueues the delivery's commit for a worker to take in (none runs here).
    expect(await h.deployer.runtime.queues.intake.backlog()).toBe(1);
  });

  const wrongShapes: [string, (p: Record<string, unknown>) => unknown][] = [
    ['repository: 5', (p) => ({ ...p, repository: 5 })],
    ["after: 'not-a-sha'", (p) => ({ ...p, after: 'not-a-sha' })],
    ['installation: "x"', (p) => ({ ...p, installation: 'x' })],
    ['a payload that is an array', () => []],
  ];
  it.each(wrongShapes)('a signed push with %s is acknowledged (200) and ignored', async (_, f) => {
    const body = JSON.stringify(f(pushPayload(web, 'main', sha())));
    const res = await post(h, body, signedHeaders('push', body));
    expect(res.status).toBe(200);
    await expectNothingEnqueued(h);
  });

  const hostileRefs = ['refs/heads/../../etc/passwd', 'refs/heads/x;rm -rf /'];
  it.each(hostileRefs)('a signed push of ref %s is acknowledged and ignored', async (ref) => {
    const body = JSON.stringify({ ...pushPayload(web, 'main', sha()), ref });
    const res = await post(h, body, signedHeaders('push', body));
    expect(res.status).toBe(200);
    await expectNothingEnqueued(h);
  });

  it('a signed JSON null is answered without a crash, and nothing is enqueued', async () => {
    const res = await post(h, 'null', signedHeaders('push', 'null'));
    // The guard in front of @octokit/webhooks (which would answer 500) refuses it.
    expect(res.status).toBe(400);
    await expectNothingEnqueued(h);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('an unknown event name is acknowledged (200) and ignored', async () => {
    const body = JSON.stringify(pushPayload(web, 'main', sha()));
    const res = await post(h, body, signedHeaders('deploy_the_world', body));
    expect(res.status).toBe(200);
    await expectNothingEnqueued(h);
  });

  it('a 5 MB body is answered without a crash', async () => {
    const payload = pushPayload({ ...web, name: 'unwatched' }, 'main', sha());
    payload.head_commit.message = 'x'.repeat(5 * 1024 * 1024);
    const body = JSON.stringify(payload);
    const res = await post(h, body, signedHeaders('push', body));
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(500);
    await expectNothingEnqueued(h);

    const unsigned = await post(h, body, {
      ...signedHeaders('push', body),
      'x-hub-signature-256': sign('something else'),
    });
    expect(unsigned.status).toBe(400);
    const health = await fetch(`${h.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('a sender that goes away mid-body costs nothing: no error escapes, nothing is enqueued', async () => {
    const escaped: unknown[] = [];
    const record = (err: unknown) => escaped.push(err);
    process.on('unhandledRejection', record);
    try {
      const { port } = new URL(h.url);
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        [
          'POST /api/github/webhooks HTTP/1.1',
          'Host: deployer.test',
          'Content-Type: application/json',
          'X-GitHub-Event: push',
          `X-GitHub-Delivery: ${randomUUID()}`,
          `X-Hub-Signature-256: ${sign('{}')}`,
          'Content-Length: 10000',
          '',
          '{"ref": "refs/heads/main", ',
        ].join('\r\n'),
      );
      await new Promise((r) => setTimeout(r, 100)); // the receiver is reading the body
      socket.destroy();
      await new Promise((r) => setTimeout(r, 300));
      expect(escaped).toEqual([]);
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
      await expectNothingEnqueued(h);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
