import { IncomingWebhook } from '@slack/webhook';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

export type Notify = (text: string) => Promise<void>;

/** Slack link markup: <url|label>. */
export const slackLink = (url: string, label: string): string =>
  `<${escape(url).replace(/\|/g, '%7C')}|${escape(label).replace(/\|/g, '¦')}>`;

// Slack's control characters in message text: https://api.slack.com/reference/surfaces/formatting#escaping
const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The original's message: "Deploy <commit> as <service>: <state>". */
export function deployMessage(m: {
  commitUrl: string;
  sha: string;
  service: string;
  state: string;
  logUrl: string;
}): string {
  return `Deploy ${slackLink(m.commitUrl, m.sha.slice(0, 7))} as ${m.service}: ${slackLink(m.logUrl, m.state)}`;
}

/**
 * Posts to the incoming-webhook URL kept in `file` (a secret, so never in env or
 * config). Slack being down or refusing is logged and never fails a deploy.
 */
export function slackNotifier(file: string | undefined, log: Logger): Notify {
  if (!file) return async () => undefined;
  let webhook: IncomingWebhook | undefined;
  return async (text) => {
    try {
      webhook ??= new IncomingWebhook(readFileSync(file, 'utf8').trim(), { timeout: 10_000 });
      await webhook.send({ text });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'slack notification failed');
    }
  };
}
