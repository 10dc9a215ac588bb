import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SLACK_TOKEN = 'xoxb-0000000000-0000000000000-testbottoken000000000';
export const SLACK_CHANNEL = { id: 'C0DEPLOYS01', name: 'deploys' };

/** A message as the workspace shows it, with every text it had. */
export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  texts: string[];
}

export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
  answer: unknown;
}

// The arguments Slack documents for these methods (https://api.slack.com/methods/chat.postMessage,
// https://api.slack.com/methods/chat.update); anything else is a mistake on our side.
const ARGS: Record<string, string[]> = {
  'chat.postMessage': [
    'channel',
    'text',
    'as_user',
    'attachments',
    'blocks',
    'icon_emoji',
    'icon_url',
    'link_names',
    'markdown_text',
    'metadata',
    'mrkdwn',
    'parse',
    'reply_broadcast',
    'thread_ts',
    'unfurl_links',
    'unfurl_media',
    'username',
  ],
  'chat.update': [
    'channel',
    'ts',
    'text',
    'as_user',
    'attachments',
    'blocks',
    'file_ids',
    'link_names',
    'markdown_text',
    'metadata',
    'parse',
    'reply_broadcast',
  ],
};
const MAX_TEXT = 40_000;

/**
 * A local server standing in for Slack's Web API (chat.postMessage, chat.update):
 * it checks each request as Slack would (POST, a JSON body, the bot token as a
 * Bearer header, known arguments; chat.update only with the channel's ID and a
 * `ts` it gave), answers in Slack's shapes (`ok`, `error`, `channel`, `ts`), and
 * records the calls and the channel's messages for assertions.
 */
export class SlackStandIn {
  readonly calls: SlackCall[] = [];
  /** Requests Slack would refuse for their form (what the deployer must never send). */
  readonly problems: string[] = [];
  readonly messages: SlackMessage[] = [];
  /** Answers to give instead, next: an HTTP status, or an `ok: false` error. */
  readonly faults: ({ status: number } | { error: string })[] = [];
  private server?: Server;
  private clock = 1_700_000_000;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
    return this;
  }

  /** A file holding the bot token, as an operator would mount it. */
  tokenFile(): string {
    const file = join(mkdtempSync(join(tmpdir(), 'deployer-slack-')), 'token');
    writeFileSync(file, `${SLACK_TOKEN}\n`);
    return file;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += (chunk as Buffer).toString();
    const method = (req.url ?? '').replace(/^\/api\//, '');
    const reply = (status: number, answer: unknown, body: Record<string, unknown> = {}) => {
      this.calls.push({ method, body, answer });
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(answer));
    };
    const refuse = (problem: string, error: string, body?: Record<string, unknown>) => {
      this.problems.push(`${method}: ${problem}`);
      reply(200, { ok: false, error }, body);
    };
    if (!(method in ARGS)) return refuse('no such method', 'unknown_method');
    if (req.method !== 'POST') return refuse(`${req.method} instead of POST`, 'invalid_request');
    if (!/^application\/json(;\s*charset=utf-8)?$/i.test(req.headers['content-type'] ?? ''))
      return refuse(`Content-Type ${req.headers['content-type']}`, 'invalid_post_type');
    if (!req.headers.authorization) return refuse('no Authorization header', 'not_authed');
    if (req.headers.authorization !== `Bearer ${SLACK_TOKEN}`)
      return refuse(`Authorization ${req.headers.authorization}`, 'invalid_auth');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return refuse('a body that is not JSON', 'invalid_json');
    }
    const unknown = Object.keys(body).filter((k) => !ARGS[method].includes(k));
    if (unknown.length)
      return refuse(`unknown arguments ${unknown.join(', ')}`, 'invalid_arguments', body);
    if (typeof body.text !== 'string' || !body.text) return refuse('no text', 'no_text', body);
    if (body.text.length > MAX_TEXT) return refuse('text too long', 'msg_too_long', body);
    const fault = this.faults.shift();
    if (fault && 'status' in fault) return reply(fault.status, { ok: false }, body);
    if (fault) return reply(200, { ok: false, error: fault.error }, body);
    if (method === 'chat.postMessage') return this.post(body, reply, refuse);
    return this.update(body, reply, refuse);
  }

  private post(
    body: Record<string, unknown>,
    reply: (status: number, answer: unknown, body: Record<string, unknown>) => void,
    refuse: (problem: string, error: string, body: Record<string, unknown>) => void,
  ) {
    const { id, name } = SLACK_CHANNEL;
    // chat.postMessage takes an ID or a name; what it answers is always the ID.
    if (![id, name, `#${name}`].includes(body.channel as string))
      return refuse(`channel ${String(body.channel)}`, 'channel_not_found', body);
    const ts = `${this.clock++}.000100`;
    const text = body.text as string;
    this.messages.push({ channel: id, ts, text, texts: [text] });
    reply(200, { ok: true, channel: id, ts, message: { type: 'message', text, ts } }, body);
  }

  private update(
    body: Record<string, unknown>,
    reply: (status: number, answer: unknown, body: Record<string, unknown>) => void,
    refuse: (problem: string, error: string, body: Record<string, unknown>) => void,
  ) {
    // chat.update wants the channel's ID, not its name.
    if (body.channel !== SLACK_CHANNEL.id)
      return refuse(`channel ${String(body.channel)}`, 'channel_not_found', body);
    const message = this.messages.find((m) => m.ts === body.ts);
    if (!message) return refuse(`ts ${String(body.ts)}`, 'message_not_found', body);
    message.text = body.text as string;
    message.texts.push(message.text);
    reply(200, { ok: true, channel: message.channel, ts: message.ts, text: message.text }, body);
  }
}
