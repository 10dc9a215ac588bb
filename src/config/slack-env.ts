import { ConfigError } from './load.js';

/** Which Slack, if any: a bot token and a channel (Web API), or an incoming webhook. */
export interface SlackSettings {
  /** DEPLOYER_SLACK_WEBHOOK_FILE (`--slack FILE`): a file holding an incoming-webhook URL. */
  slackWebhookFile?: string;
  /** DEPLOYER_SLACK_TOKEN_FILE: a file holding a bot token with `chat:write`. */
  slackTokenFile?: string;
  /** DEPLOYER_SLACK_CHANNEL: the channel the bot posts to (an ID such as C0123456789, or a name). */
  slackChannel?: string;
  /** DEPLOYER_SLACK_API_URL: Slack's Web API (another address for a proxy). */
  slackApiUrl?: string;
}

export function readSlackSettings(env: NodeJS.ProcessEnv): SlackSettings {
  const settings = {
    slackWebhookFile: env.DEPLOYER_SLACK_WEBHOOK_FILE || undefined,
    slackTokenFile: env.DEPLOYER_SLACK_TOKEN_FILE || undefined,
    slackChannel: env.DEPLOYER_SLACK_CHANNEL || undefined,
    slackApiUrl: env.DEPLOYER_SLACK_API_URL || undefined,
  };
  if (!settings.slackTokenFile !== !settings.slackChannel)
    throw new ConfigError(
      'DEPLOYER_SLACK_TOKEN_FILE and DEPLOYER_SLACK_CHANNEL: set both (a file holding the bot token, and the channel it posts to) or neither',
    );
  if (settings.slackTokenFile && settings.slackWebhookFile)
    throw new ConfigError(
      'DEPLOYER_SLACK_WEBHOOK_FILE (--slack) and DEPLOYER_SLACK_TOKEN_FILE: set one; the bot token edits each message as its deployment goes on, the webhook cannot',
    );
  if (settings.slackApiUrl && !/^https?:\/\//.test(settings.slackApiUrl))
    throw new ConfigError(
      `DEPLOYER_SLACK_API_URL: expected an http(s) URL, got "${settings.slackApiUrl}"`,
    );
  return settings;
}
