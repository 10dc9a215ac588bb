import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbotOctokit } from 'probot';
import { readEnv, type DeployerEnv } from '../../src/config/env.js';
import { parseFlavour } from '../../src/config/load.js';
import type { Arch, FlavourInput } from '../../src/config/schema.js';
import type { Level } from '../../src/config/levels.js';
import type { DeploySettings } from '../../src/wiring/deploy-deps.js';
import { startDeployer, type RunningDeployer } from '../../src/entry/start.js';
import type { TestFlavourInput } from './flavour.js';
import { GitHubStandIn } from './github-stand-in.js';

export const WEBHOOK_SECRET = 'test-webhook-secret';
let privateKey: string | undefined;

/** A fresh RSA key, as a GitHub App's, made once per test file. */
export function testPrivateKey(): string {
  privateKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs1',
    format: 'pem',
  }) as string;
  return privateKey;
}

/** Octokit as in production, minus retries and throttling so tests are quick and exact. */
export const TestOctokit = ProbotOctokit.defaults((o: object) => ({
  ...o,
  retry: { enabled: false },
  throttle: { enabled: false },
}));

export const redisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';

/** A unique name so tests never see each other's queues or records. */
export const uniqueName = (base: string): string => `${base}-${randomUUID().slice(0, 8)}`;

export interface Harness {
  /** What a separate worker process needs to join this deployer (see worker-process.ts). */
  env: DeployerEnv;
  probotEnv: Record<string, string>;
  flavour: FlavourInput;
  github: GitHubStandIn;
  deployer: RunningDeployer;
  url: string;
  send(
    event: string,
    payload: unknown,
    opts?: { signature?: string; delivery?: string },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** The whole deployer (receiver + workers) in this process against a GitHub stand-in. */
export async function startHarness(
  flavour: TestFlavourInput,
  opts: {
    pools?: Arch[];
    worker?: boolean;
    jobLockMs?: number;
    buildTimeoutMs?: number;
    /** Builds at once per pool (default 1). */
    buildsPerPool?: number;
    deploySettings?: DeploySettings;
    /** Default: `redisUrl()`, the shared test Redis. */
    redisUrl?: string;
    /** Operations at or above this level wait for an admin. */
    confirm?: Level;
    /** The `confirm` level stops holding this long after the worker starts. */
    confirmAutoReleaseMs?: number;
    /** Web UI sign-in through the stand-in; the flavour's baseUrl becomes the receiver's URL. */
    signIn?: boolean;
    /** Routes the stand-in answers from the start (scheduled tasks run as the workers start). */
    stand?: (github: GitHubStandIn) => void;
  } = {},
): Promise<Harness> {
  const github = await new GitHubStandIn().start();
  opts.stand?.(github);
  const name = flavour.name ?? uniqueName('test');
  const port = opts.signIn ? await freePort() : 0;
  if (opts.signIn) flavour = { ...flavour, baseUrl: `http://127.0.0.1:${port}` };
  const env = {
    ...readEnv({ REDIS_URL: opts.redisUrl ?? redisUrl() }),
    confirm: opts.confirm,
    confirmAutoReleaseMs: opts.confirmAutoReleaseMs,
    prefix: uniqueName('t'),
    workDir: mkdtempSync(join(tmpdir(), 'deployer-builds-')),
    ...(opts.jobLockMs ? { jobLockMs: opts.jobLockMs } : {}),
    ...(opts.buildTimeoutMs ? { buildTimeoutMs: opts.buildTimeoutMs } : {}),
    ...(opts.buildsPerPool ? { buildsPerPool: opts.buildsPerPool } : {}),
  };
  const probotEnv = {
    APP_ID: '1',
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: String(port),
    HOST: '127.0.0.1',
    ...github.env(),
    ...(opts.signIn ? github.oauthEnv() : {}),
  };
  const input = { ...flavour, name } as FlavourInput;
  const deployer = await startDeployer({
    env,
    flavour: parseFlavour(input, 'test flavour'),
    probotEnv: probotEnv as NodeJS.ProcessEnv,
    receiver: true,
    worker: opts.worker ?? true,
    pools: opts.pools ?? ['linux-x86_64'],
    Octokit: TestOctokit,
    deploySettings: opts.deploySettings,
  });
  const url = deployer.url!;
  return {
    env,
    probotEnv,
    flavour: input,
    github,
    deployer,
    url,
    send: (event, payload, o = {}) => sendWebhook(url, event, payload, o),
    async close() {
      await deployer.close();
      await github.stop();
    },
  };
}

/** A port nothing listens on now (for a server whose URL must be known before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export function sign(body: string, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function sendWebhook(
  url: string,
  event: string,
  payload: unknown,
  opts: { signature?: string; delivery?: string; body?: string } = {},
): Promise<Response> {
  const body = opts.body ?? JSON.stringify(payload);
  return fetch(`${url}/api/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': opts.delivery ?? randomUUID(),
      'x-hub-signature-256': opts.signature ?? sign(body),
    },
    body,
  });
}

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until BullMQ has the job finished: a build's record and check run are
 * written just before the worker hands the job back, so they can be seen first.
 */
export async function jobSettled(
  queue: { getJob(id: string): Promise<{ finishedOn?: number } | undefined> },
  id: string,
): Promise<void> {
  await waitFor(`job ${id} to finish`, async () =>
    (await queue.getJob(id))?.finishedOn ? true : undefined,
  );
}
