import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Where the Web API put a message: the channel's ID (chat.update wants the ID, not a name) and `ts`. */
export interface SlackRef {
  channel: string;
  ts: string;
}

/** Slack answered a method with `ok: false` (its `error` says why), or not at all. */
export class SlackApiError extends Error {
  constructor(
    readonly method: string,
    readonly error: string,
  ) {
    super(`Slack ${method}: ${error}`);
    this.name = 'SlackApiError';
  }
}

// https://api.slack.com/web#responses: every answer has `ok`; failures name an `error`.
const answerSchema = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  channel: z.string().optional(),
  ts: z.string().optional(),
});

export const SLACK_API_URL = 'https://slack.com/api/';

/**
 * Slack's Web API as a bot: chat.postMessage and chat.update, JSON bodies with the
 * bot token (read from `tokenFile` when first needed) as a Bearer header.
 */
export function slackWebApi(opts: { tokenFile: string; channel: string; apiUrl?: string }) {
  const base = (opts.apiUrl ?? SLACK_API_URL).replace(/\/*$/, '/');
  let token: string | undefined;
  const call = async (method: string, body: Record<string, string>) => {
    token ??= readFileSync(opts.tokenFile, 'utf8').trim();
    const res = await fetch(new URL(method, base), {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        Authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new SlackApiError(method, `HTTP ${res.status}`);
    const answer = answerSchema.safeParse(await res.json().catch(() => undefined));
    if (!answer.success) throw new SlackApiError(method, 'an answer that is not Slack’s');
    if (!answer.data.ok) throw new SlackApiError(method, answer.data.error ?? 'not ok');
    return answer.data;
  };
  return {
    async post(text: string): Promise<SlackRef> {
      const a = await call('chat.postMessage', { channel: opts.channel, text });
      if (!a.channel || !a.ts) throw new SlackApiError('chat.postMessage', 'no channel or ts');
      return { channel: a.channel, ts: a.ts };
    },
    async update(ref: SlackRef, text: string): Promise<void> {
      await call('chat.update', { channel: ref.channel, ts: ref.ts, text });
    },
  };
}
