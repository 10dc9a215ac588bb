import { Redis } from 'ioredis';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployMessages, type DeploymentRef } from '../../src/notify/deploy-messages.js';
import { slackOutlet } from '../../src/notify/slack.js';
import { DEPLOY_STATES as S } from '../../src/plan/deploy-message.js';
import { SlackMessageStore } from '../../src/store/slack-message-store.js';
import { redisUrl, uniqueName } from '../helpers/harness.js';
import { deleteKeys } from '../helpers/redis-keys.js';
import { SLACK_CHANNEL, SlackStandIn } from '../helpers/slack-stand-in.js';
import { SlackListener } from '../helpers/swarm.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const BASE = 'https://deploy.example.com';
const TAG = 'registry.example.com/acme/web:live';
const ref = (sha: string): DeploymentRef => ({
  name: TAG,
  sha,
  commitUrl: `https://github.com/acme/web/commit/${sha}`,
});
const SHA1 = '1'.repeat(40);
const SHA2 = '2'.repeat(40);
const stateOf = (text: string) => /\|([^|>]*)>$/.exec(text)?.[1];

describe('deployment messages: Redis and a Slack stand-in', () => {
  const ns = uniqueName('t-slack');
  let redis: Redis;
  let store: SlackMessageStore;
  let api: SlackStandIn;
  let webhook: SlackListener;

  beforeAll(async () => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    store = new SlackMessageStore(redis, ns);
    api = await new SlackStandIn().start();
    webhook = await new SlackListener().start();
  });
  afterAll(async () => {
    await deleteKeys(redis, ns);
    redis.disconnect();
    await api?.stop();
    await webhook?.stop();
  });

  it('posts once however many workers report at once, then edits that message', async () => {
    const outlet = slackOutlet({
      slackTokenFile: api.tokenFile(),
      slackChannel: SLACK_CHANNEL.id,
      slackApiUrl: api.url,
    });
    const messages = deployMessages(outlet, store, BASE, log);
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => messages.report(ref(SHA1), S.building, `build-${i}`)),
    );
    expect(api.calls.map((c) => c.method)).toEqual(['chat.postMessage']);
    for (const state of [S.pushing, S.deploying, S.deploying, S.deployed])
      await messages.report(ref(SHA1), state, 'deploy-1');
    expect(api.messages).toHaveLength(1);
    const [message] = api.messages;
    expect(message.texts.map(stateOf)).toEqual(['building', 'pushing', 'deploying', 'deployed']);
    expect(message.text).toBe(
      `Deploy <https://github.com/acme/web/commit/${SHA1}|1111111> as ${TAG}: <${BASE}/jobs/deploy-1|deployed>`,
    );
    expect(await store.get(TAG, SHA1)).toEqual({
      label: 'deployed',
      phase: 'ended',
      step: 'deploy',
      channel: SLACK_CHANNEL.id,
      ts: message.ts,
    });
    // A build reporting late never reopens it; the next commit gets its own.
    await messages.report(ref(SHA1), S.building, 'build-late');
    await messages.report(ref(SHA2), S.building, 'build-2');
    expect(api.messages.map((m) => m.texts.length)).toEqual([4, 1]);
    expect(api.problems).toEqual([]);
  });

  it('is logged, not thrown, when Slack refuses, and leaves nothing saved', async () => {
    const badToken = join(mkdtempSync(join(tmpdir(), 'deployer-slack-')), 'token');
    writeFileSync(badToken, 'xoxb-revoked\n');
    const outlet = slackOutlet({
      slackTokenFile: badToken,
      slackChannel: SLACK_CHANNEL.id,
      slackApiUrl: api.url,
    });
    const sha = '3'.repeat(40);
    await deployMessages(outlet, store, BASE, log).report(ref(sha), S.building, 'build-3');
    expect(api.calls.at(-1)?.answer).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await store.get(TAG, sha)).toBeUndefined();
  });

  it('posts through an incoming webhook once per phase, as it cannot edit', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'deployer-slack-')), 'url');
    writeFileSync(file, webhook.url);
    const messages = deployMessages(slackOutlet({ slackWebhookFile: file }), store, BASE, log);
    const sha = '4'.repeat(40);
    for (const state of [
      S.building,
      S.building,
      S.pushing,
      S.waitingForConfirmation,
      S.deploying,
      S.deployed,
    ])
      await messages.report(ref(sha), state, 'job');
    expect(webhook.messages.map(stateOf)).toEqual([
      'building',
      'waiting for confirmation',
      'deploying',
      'deployed',
    ]);
    await messages.post('Deploy x as svc: <https://l.example|success>');
    expect(webhook.messages.at(-1)).toBe('Deploy x as svc: <https://l.example|success>');
  });
});
