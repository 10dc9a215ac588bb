import { IncomingWebhook } from '@slack/webhook';
import { readFileSync } from 'node:fs';
import type { SlackSettings } from '../config/slack-env.js';
import { slackWebApi, type SlackRef } from './slack-api.js';

/** Slack link markup: <url|label>. */
export const slackLink = (url: string, label: string): string =>
  `<${escape(url).replace(/\|/g, '%7C')}|${escape(label).replace(/\|/g, '¦')}>`;

// Slack's control characters in message text: https://api.slack.com/reference/surfaces/formatting#escaping
const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The original's message: "Deploy <commit> as <name>: <state>". */
export function deployMessage(m: {
  commitUrl: string;
  sha: string;
  name: string;
  state: string;
  logUrl: string;
}): string {
  return `Deploy ${slackLink(m.commitUrl, m.sha.slice(0, 7))} as ${m.name}: ${slackLink(m.logUrl, m.state)}`;
}

/** How messages reach Slack: the Web API can edit what it posted, an incoming webhook cannot. */
export type SlackOutlet =
  | { canUpdate: false; post(text: string): Promise<undefined> }
  | {
      canUpdate: true;
      post(text: string): Promise<SlackRef>;
      update(ref: SlackRef, text: string): Promise<void>;
    };

/** The outlet the settings name; undefined: no Slack. Secrets stay in their files until used. */
export function slackOutlet(s: SlackSettings): SlackOutlet | undefined {
  if (s.slackTokenFile && s.slackChannel)
    return {
      canUpdate: true,
      ...slackWebApi({
        tokenFile: s.slackTokenFile,
        channel: s.slackChannel,
        apiUrl: s.slackApiUrl,
      }),
    };
  const file = s.slackWebhookFile;
  if (!file) return undefined;
  let webhook: IncomingWebhook | undefined;
  return {
    canUpdate: false,
    async post(text) {
      webhook ??= new IncomingWebhook(readFileSync(file, 'utf8').trim(), { timeout: 10_000 });
      await webhook.send({ text });
      return undefined;
    },
  };
}
