import { pino } from 'pino';
import { Probot } from 'probot';
import { createApp } from '../../src/app.js';
import { readEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import type { TestFlavourInput } from './flavour.js';
import { redisUrl, TestOctokit, testPrivateKey, uniqueName, WEBHOOK_SECRET } from './harness.js';
import { deleteKeys } from './redis-keys.js';

/**
 * A Probot as in production but for tests: a fixed App id and test key, the test
 * webhook secret, no retries or throttling (so nock sees exactly one request per
 * call), and a silent logger (TEST_LOG_LEVEL=debug to see it).
 */
export function createTestProbot(): Probot {
  return new Probot({
    appId: 1,
    privateKey: testPrivateKey(),
    secret: WEBHOOK_SECRET,
    Octokit: TestOctokit,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
}

export interface TestApp {
  probot: Probot;
  runtime: Runtime;
  /** Deletes this app's Redis keys (queues and records) and closes its connections. */
  close(): Promise<void>;
}

/**
 * The deployer's Probot app loaded into a test Probot, on the real Redis under a
 * fresh prefix and flavour name, so no two tests see each other's queues or records.
 */
export async function loadTestApp(flavour: TestFlavourInput): Promise<TestApp> {
  const probot = createTestProbot();
  const env = { ...readEnv({ REDIS_URL: redisUrl() }), prefix: uniqueName('t') };
  const runtime = createRuntime(
    env,
    parseFlavour({ ...flavour, name: flavour.name ?? uniqueName('test') }, 'test flavour'),
  );
  await probot.load(createApp(runtime));
  return {
    probot,
    runtime,
    async close() {
      await deleteKeys(runtime.redis, env.prefix);
      await runtime.close();
    },
  };
}
