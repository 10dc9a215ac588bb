import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeMiddleware } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardWebhooks, screenSigned } from '../../src/receiver/guard.js';
import { sign, WEBHOOK_SECRET } from '../helpers/harness.js';
import { createTestProbot } from '../helpers/probot.js';

describe('screenSigned', () => {
  const screen = async (name: string, body: string) => {
    const screened = screenSigned(name, Buffer.from(body));
    return 'reply' in screened ? screened.reply : undefined;
  };

  it.each(['null', '0', '5', '"x"', 'true', 'false'])(
    'refuses a top-level %s with 400',
    async (b) => {
      expect(await screen('push', b)).toEqual({
        status: 400,
        body: '{"error":"The payload must be a JSON object"}',
      });
    },
  );

  it.each(['__proto__', 'hasOwnProperty', 'valueOf', 'constructor'])(
    'ignores the event name %s',
    async (name) => {
      expect(await screen(name, '{}')).toEqual({
        status: 200,
        body: '{"ignored":"unknown event name"}',
      });
    },
  );

  it.each([[[1]], ['42'], [{ id: 1 }], [-1], [1.5], [true]])(
    'ignores installation.id %j',
    async (id) => {
      const body = JSON.stringify({ installation: { id } });
      expect(await screen('push', body)).toMatchObject({ status: 200 });
    },
  );

  it.each([
    ['a real delivery', '{"installation":{"id":42},"ref":"refs/heads/main"}'],
    ['no installation', '{"ref":"refs/heads/main"}'],
    ['installation id 0 (Probot treats it as absent)', '{"installation":{"id":0}}'],
    ['an array', '[]'],
    ['invalid JSON (Probot answers it)', '{"ref":'],
  ])('hands on %s', async (_, body) => {
    expect(screenSigned('push', Buffer.from(body))).toEqual({ text: body });
  });

  it('refuses a body that is not UTF-8 with 400', () => {
    const body = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"\xff\xfe"}
    expect(screenSigned('push', body)).toEqual({
      reply: { status: 400, body: '{"error":"The payload must be UTF-8 text"}' },
    });
  });
});

describe('guardWebhooks in front of Probot’s node middleware', () => {
  let server: Server;
  let url: string;
  const received: unknown[] = [];

  beforeAll(async () => {
    const probot = createTestProbot();
    const middleware = await createNodeMiddleware(
      (app) => app.on('push', async (ctx) => void received.push(ctx.payload)),
      { probot },
    );
    const guarded = guardWebhooks(middleware, { secret: WEBHOOK_SECRET });
    server = createServer((req, res) => void guarded(req, res, () => res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  const post = (name: string, body: string, path = '/api/github/webhooks') =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': name,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': sign(body),
      },
      body,
    });

  it('passes a good delivery through to the app, body intact', async () => {
    const payload = { ref: 'refs/heads/main', installation: { id: 42 }, note: 'é ü 🙂' };
    expect((await post('push', JSON.stringify(payload))).status).toBe(200);
    expect(received).toContainEqual(payload);
  });

  it('answers what Probot would answer with a 500 with a 4xx or a 200', async () => {
    expect((await post('push', 'null')).status).toBe(400);
    expect((await post('__proto__', '{}')).status).toBe(200);
    expect((await post('hasOwnProperty', '{}')).status).toBe(200);
    expect((await post('push', '{"installation":{"id":[1]}}')).status).toBe(200);
    expect(
      (await post('push', '{"installation":{"id":[1]}}', '/api/github/webhooks/')).status,
    ).toBe(200);
  });

  it('refuses what is not signed with the secret before looking at it, as Probot would', async () => {
    for (const [name, body] of [
      ['push', 'null'],
      ['__proto__', '{}'],
      ['push', '{"ref":'],
    ]) {
      const res = await fetch(`${url}/api/github/webhooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': name,
          'x-github-delivery': randomUUID(),
          'x-hub-signature-256': sign(body, 'not-the-secret'),
        },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'Error: [@octokit/webhooks] signature does not match event payload and secret',
      });
    }
  });

  it('leaves the rest to Probot: invalid JSON 400, other paths to next()', async () => {
    expect((await post('push', '{"ref":')).status).toBe(400);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
  });
});
