// The AWS Lambda entry of the receiver role: API Gateway (REST proxy or HTTP API)
// or a function URL in front, the same app and queues as `deployer serve` behind.
//
// The adapter is CommonJS; Node's ESM loader finds `createLambdaFunction` by name,
// but not what it re-exports from its own nested Probot 13 (`createProbot` among
// them): `createProbot` therefore comes from our Probot 14.
import { createLambdaFunction } from '@probot/adapter-aws-lambda-serverless';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Context,
  LambdaFunctionURLEvent,
} from 'aws-lambda';
import { createProbot, type ApplicationFunction, type Probot } from 'probot';
import { createApp } from '../app.js';
import { readEnv } from '../config/env.js';
import { allowAccounts } from '../config/allowlist.js';
import { resolveFlavour } from '../config/flavour.js';
import { createRuntime, type Runtime } from '../wiring/runtime.js';
import { screenSigned, SIGNATURE_MISMATCH } from '../receiver/guard.js';
import { requireWebhookSecret } from '../config/webhook-secret.js';
import { signatureMatches } from '../receiver/signature.js';
import { reportRuntimeErrors } from '../observe/redis-errors.js';

export type LambdaEvent = APIGatewayProxyEvent | LambdaFunctionURLEvent;
export type LambdaResult = APIGatewayProxyResult;

/** The Lambda handler, plus `close()` for tests and graceful container shutdown. */
export interface LambdaHandler {
  (event: LambdaEvent, context?: Context): Promise<LambdaResult>;
  close(): Promise<void>;
}

type AdapterFunction = (event: LambdaEvent, context: Context) => Promise<LambdaResult>;
// Its types name the nested Probot 13, whose class is not ours: only the shape is shared.
const adapt = createLambdaFunction as unknown as (
  app: ApplicationFunction,
  options: { probot: Probot },
) => AdapterFunction;

interface Started {
  secret: string;
  probot: Probot;
  runtime: Runtime;
  lambda: AdapterFunction;
}

const WEBHOOK_HEADERS = ['x-github-event', 'x-github-delivery', 'x-hub-signature-256'];

/**
 * A handler configured from `env` (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, REDIS_URL,
 * DEPLOYER_CONFIG or DEPLOYER_FLAVOUR, DEPLOYER_REDIS_PREFIX, …). Nothing connects
 * until the first event, so importing this module costs nothing.
 */
export function createHandler(env: NodeJS.ProcessEnv = process.env): LambdaHandler {
  let started: Promise<Started> | undefined;
  const start = () =>
    (started ??= startReceiver(env).catch((err: unknown) => {
      started = undefined; // a cold start that failed (Redis down) is retried by the next event
      throw err;
    }));
  const handler = async (event: LambdaEvent, context?: Context): Promise<LambdaResult> =>
    receive(await start(), event, context ?? ({} as Context));
  return Object.assign(handler, {
    async close() {
      const s = await started?.catch(() => undefined);
      started = undefined;
      await s?.runtime.close();
    },
  });
}

async function startReceiver(env: NodeJS.ProcessEnv): Promise<Started> {
  // Without it Probot would verify deliveries with its well-known development secret.
  const secret = requireWebhookSecret(env);
  const deployerEnv = readEnv(env);
  const served = allowAccounts(resolveFlavour(deployerEnv), deployerEnv.accountAllowlist);
  const runtime = createRuntime(deployerEnv, served.flavour);
  // The receiver makes no GitHub API calls (GitHub writes happen in workers), so
  // Probot's Redis-backed request throttling would only cost each container a connection.
  const probot = createProbot({
    env: {
      ...env,
      LOG_LEVEL: env.LOG_LEVEL || 'info',
      REDIS_URL: undefined,
      WEBHOOK_SECRET: secret,
    },
  });
  // Probot 14 sets up its logger and webhooks asynchronously; the adapter (written for
  // Probot 13) uses `probot.webhooks` at once and does not await `probot.load`.
  await probot.ready();
  reportRuntimeErrors(runtime, deployerEnv.redisUrl, probot.log);
  const app = createApp(runtime);
  // The adapter calls `probot.load(app)` without awaiting it: learn when it is done.
  let lambda!: AdapterFunction;
  await new Promise<void>((resolve, reject) => {
    lambda = adapt(
      async (probotApp, options) => {
        try {
          // No HTTP server here: web routes, if the app adds any, are `deployer serve`'s.
          await app(probotApp, { ...options, addHandler: () => undefined });
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      },
      { probot },
    );
  });
  return { secret, probot, runtime, lambda };
}

async function receive(s: Started, event: LambdaEvent, context: Context): Promise<LambdaResult> {
  const headers = lowercaseKeys(event.headers ?? {});
  // API Gateway passes binary-looking bodies base64-encoded; the adapter would verify
  // the signature over the encoded text and refuse every such delivery.
  const bytes = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const missing = WEBHOOK_HEADERS.filter((h) => !headers[h]);
  if (missing.length) return reply(400, `Required headers missing: ${missing.join(', ')}`);
  // The signature first: nothing unsigned is decoded or parsed.
  if (!signatureMatches(s.secret, bytes, headers['x-hub-signature-256']))
    return reply(400, SIGNATURE_MISMATCH);
  // Deliveries Probot and @octokit/webhooks would answer with a 500 (see the guard).
  const screened = screenSigned(headers['x-github-event'], bytes);
  if ('reply' in screened) return respond(screened.reply.status, screened.reply.body);
  const body = screened.text;
  try {
    return await s.lambda({ ...event, headers, body, isBase64Encoded: false }, context);
  } catch (err) {
    // The adapter lets every error escape, which Lambda turns into a 5xx; GitHub's own
    // mistakes (bad signature, invalid JSON) carry a 4xx status from @octokit/webhooks.
    const status = statusOf(err);
    if (status >= 500) s.probot.log.error({ err }, 'webhook handling failed');
    return reply(status, status < 500 ? firstMessage(err) : 'Internal error');
  }
}

function lowercaseKeys(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers))
    if (value !== undefined) out[key.toLowerCase()] = value;
  return out;
}

function causes(err: unknown): unknown[] {
  return err instanceof AggregateError ? err.errors : [err];
}

function statusOf(err: unknown): number {
  const status = (causes(err)[0] as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}

function firstMessage(err: unknown): string {
  const first = causes(err)[0];
  return first instanceof Error ? first.message : 'Bad request';
}

function reply(statusCode: number, error: string): LambdaResult {
  return respond(statusCode, JSON.stringify({ error }));
}

function respond(statusCode: number, body: string): LambdaResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body };
}

/** The entry AWS Lambda calls, configured from the function's environment. */
export const handler = createHandler();
