import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../src/config/builders.js';
import { readEnv } from '../../src/config/env.js';
import { resolveFlavour } from '../../src/config/flavour.js';
import { repoKey } from '../../src/config/repo-index.js';
import { ARCHS } from '../../src/config/schema.js';
import { createHandler, handler, type LambdaHandler } from '../../src/entry/lambda.js';
import { planBuilds } from '../../src/plan/build-jobs.js';
import { parsePush } from '../../src/plan/commit-event.js';
import { createRuntime, type Runtime } from '../../src/wiring/runtime.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import {
  redisUrl,
  sign,
  startHarness,
  testPrivateKey,
  uniqueName,
  type Harness,
} from '../helpers/harness.js';
import { runIntake, type RunningIntake } from '../helpers/intake.js';
import { pushPayload } from '../helpers/payloads.js';

const SECRET = 'lambda-test-webhook-secret';
const web = { owner: 'acme', name: 'web', cloneUrl: 'https://github.com/acme/web.git' };
const sha = (): string => randomUUID().replace(/-/g, '').padEnd(40, '0');

/** Two builds, one of them on two pools and deployed from `live`: several distinct job ids. */
const flavour = testFlavour({
  repos: [
    testRepo('acme/web', {
      builds: [
        docker('Dockerfile', {
          archs: ['linux-x86_64', 'linux-arm64'],
          deployments: [
            {
              branch: 'live',
              target: '127.0.0.1:5000/acme/web:live',
              services: [{ name: 'web_app', kind: 'compose', compose: 'compose.yml' }],
            },
          ],
        }),
        docker('docker/Dockerfile.api'),
      ],
    }),
  ],
});

/** An API Gateway REST (v1) proxy event, as API Gateway hands it to the function. */
function gatewayEvent(
  body: string,
  headers: Record<string, string>,
  base64 = false,
): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/api/github/webhooks',
    resource: '/api/github/webhooks',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    isBase64Encoded: base64,
    body: base64 ? Buffer.from(body).toString('base64') : body,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

const githubHeaders = (event: string, body: string, secret = SECRET) => ({
  'Content-Type': 'application/json',
  'X-GitHub-Event': event,
  'X-GitHub-Delivery': randomUUID(),
  'X-Hub-Signature-256': sign(body, secret),
});

describe('AWS Lambda entry (receiver role) with API Gateway events', () => {
  const name = uniqueName('lambda');
  const prefix = uniqueName('t');
  let lambda: LambdaHandler;
  let runtime: Runtime;
  let http: Harness;
  // Both receivers only enqueue a delivery's commit; a worker's intake takes it in.
  const intakes: RunningIntake[] = [];
  let config: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deployer-lambda-'));
    config = join(dir, 'flavour.json');
    writeFileSync(config, JSON.stringify({ ...flavour, name }));
    const env = {
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      REDIS_URL: redisUrl(),
      DEPLOYER_CONFIG: config,
      DEPLOYER_REDIS_PREFIX: prefix,
      LOG_LEVEL: 'silent' as const,
    };
    lambda = createHandler(env);
    // The test's own view of the same queues, to see what the function enqueued.
    runtime = createRuntime(readEnv(env), resolveFlavour(readEnv(env)));
    http = await startHarness(flavour, { worker: false });
    intakes.push(runIntake(runtime), runIntake(http.deployer.runtime));
  });
  afterAll(async () => {
    for (const intake of intakes) await intake.close();
    await lambda?.close();
    await runtime?.close();
    await http?.close();
  });

  async function buildJobIds(r: Runtime): Promise<string[]> {
    const ids: string[] = [];
    for (const arch of ARCHS) {
      const jobs = await r.queues.build(arch).getJobs();
      ids.push(...jobs.map((j) => j.id!));
    }
    return ids.sort();
  }

  async function totalJobs(): Promise<number> {
    const { queues } = runtime;
    let total = 0;
    const all = [...ARCHS.map((a) => queues.build(a)), queues.checks, queues.deploy];
    for (const q of all) {
      const counts = await q.getJobCounts();
      total += Object.values(counts).reduce((a, b) => a + b, 0);
    }
    return total + (await queues.intake.backlog());
  }

  /** The job ids the planner gives for this push: what any receiver must enqueue. */
  function planned(payload: unknown): string[] {
    const parsed = parsePush(payload);
    if (!('commit' in parsed)) throw new Error(parsed.ignore);
    const entry = runtime.index.get(repoKey('acme', 'web'))!;
    return planBuilds(entry, parsed.commit)
      .map((p) => p.jobId)
      .sort();
  }

  it('exports a handler built by the factory', () => {
    expect(typeof handler).toBe('function');
    expect(typeof handler.close).toBe('function');
  });

  it('a valid push enqueues exactly the jobs the HTTP receiver enqueues for it', async () => {
    const payload = pushPayload(web, 'live', sha());
    const body = JSON.stringify(payload);
    const res = await lambda(gatewayEvent(body, githubHeaders('push', body)));
    expect(res.statusCode).toBe(200);
    await intakes[0].settled();
    const expected = planned(payload);
    expect(expected).toHaveLength(3); // two pools of the deployed build (staged) + one
    expect(expected.filter((id) => id.endsWith('-stage'))).toHaveLength(2);
    expect(await buildJobIds(runtime)).toEqual(expected);

    // The same delivery through the HTTP receiver (Probot's node middleware).
    const viaHttp = await http.send('push', payload);
    expect(viaHttp.status).toBe(200);
    await intakes[1].settled();
    expect(await buildJobIds(http.deployer.runtime)).toEqual(expected);
    expect(await runtime.store.heads('acme/web')).toEqual({ 'refs/heads/live': payload.after });
  });

  it('a base64-encoded body (isBase64Encoded) is decoded before the signature check', async () => {
    const before = await buildJobIds(runtime);
    const payload = pushPayload(web, 'main', sha());
    const body = JSON.stringify(payload);
    const res = await lambda(gatewayEvent(body, githubHeaders('push', body), true));
    expect(res.statusCode).toBe(200);
    await intakes[0].settled();
    const added = (await buildJobIds(runtime)).filter((id) => !before.includes(id));
    expect(added).toEqual(planned(payload));
    expect(added.some((id) => id.endsWith('-stage'))).toBe(false);
  });

  const refused: [string, (body: string) => APIGatewayProxyEvent][] = [
    [
      'a signature made with another secret',
      (b) => gatewayEvent(b, githubHeaders('push', b, 'not-the-secret')),
    ],
    [
      'a signature over other bytes',
      (b) => gatewayEvent(b, { ...githubHeaders('push', b), 'X-Hub-Signature-256': sign('{}') }),
    ],
    [
      'a bad signature, base64-encoded body',
      (b) => gatewayEvent(b, githubHeaders('push', b, 'not-the-secret'), true),
    ],
    [
      'a base64 body signed as if it were the text',
      (b) => {
        const e = gatewayEvent(b, {}, true);
        return { ...e, headers: githubHeaders('push', e.body!) };
      },
    ],
    [
      'no signature header',
      (b) => {
        const headers: Record<string, string> = githubHeaders('push', b);
        delete headers['X-Hub-Signature-256'];
        return gatewayEvent(b, headers);
      },
    ],
    [
      'no event name header',
      (b) => {
        const headers: Record<string, string> = githubHeaders('push', b);
        delete headers['X-GitHub-Event'];
        return gatewayEvent(b, headers);
      },
    ],
    ['no headers at all (null)', (b) => ({ ...gatewayEvent(b, {}), headers: null as never })],
  ];
  it.each(refused)('%s: 4xx, never 5xx, and nothing enqueued', async (_, event) => {
    const before = await totalJobs();
    const body = JSON.stringify(pushPayload(web, 'main', sha()));
    const res = await lambda(event(body));
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(await totalJobs()).toBe(before);
  });

  it('a bad signature is answered 400 with the reason, as the HTTP receiver does', async () => {
    const body = JSON.stringify(pushPayload(web, 'main', sha()));
    const res = await lambda(gatewayEvent(body, githubHeaders('push', body, 'wrong')));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: '[@octokit/webhooks] signature does not match event payload and secret',
    });
  });

  const malformed: [string, string][] = [
    ['truncated JSON', '{"ref": "refs/heads/main", "after": '],
    ['JSON null', 'null'],
    ['a JSON number', '5'],
    ['a JSON string', '"push"'],
  ];
  it.each(malformed)('signed %s: 400, nothing enqueued', async (_, body) => {
    const before = await totalJobs();
    const res = await lambda(gatewayEvent(body, githubHeaders('push', body)));
    expect(res.statusCode).toBe(400);
    expect(await totalJobs()).toBe(before);
  });

  it('what Probot itself would answer with a 500 is ignored (200) once signed', async () => {
    const before = await totalJobs();
    const bad = { ...pushPayload(web, 'main', sha()), installation: { id: { id: 42 } } };
    const cases: [string, string][] = [
      ['__proto__', '{}'],
      ['hasOwnProperty', JSON.stringify(pushPayload(web, 'main', sha()))],
      ['push', JSON.stringify(bad)],
    ];
    for (const [event, body] of cases) {
      const res = await lambda(gatewayEvent(body, githubHeaders(event, body)));
      expect(res.statusCode, event).toBe(200);
      const unsigned = await lambda(gatewayEvent(body, githubHeaders(event, body, 'wrong')));
      expect(unsigned.statusCode, event).toBe(400);
    }
    expect(await totalJobs()).toBe(before);
  });

  it('unknown events, unwatched repositories and wrong shapes are acknowledged and ignored', async () => {
    const before = await totalJobs();
    const bodies: [string, unknown][] = [
      ['deploy_the_world', pushPayload(web, 'main', sha())],
      ['push', pushPayload({ ...web, name: 'unwatched' }, 'main', sha())],
      ['push', { ...pushPayload(web, 'main', sha()), ref: 'refs/heads/../../etc' }],
      ['push', []],
      ['pull_request', pushPayload(web, 'main', sha())],
    ];
    for (const [event, payload] of bodies) {
      const body = JSON.stringify(payload);
      const res = await lambda(gatewayEvent(body, githubHeaders(event, body)));
      expect(res.statusCode).toBe(200);
    }
    expect(await totalJobs()).toBe(before);
  });

  it('without WEBHOOK_SECRET it refuses to start: a delivery signed with Probot’s development secret is not taken', async () => {
    const env = {
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      REDIS_URL: redisUrl(),
      DEPLOYER_CONFIG: config,
      DEPLOYER_REDIS_PREFIX: uniqueName('t'),
      LOG_LEVEL: 'silent' as const,
    };
    const unset = createHandler(env);
    const queues = createRuntime(readEnv(env), resolveFlavour(readEnv(env)));
    try {
      const body = JSON.stringify(pushPayload(web, 'main', sha()));
      const event = gatewayEvent(body, githubHeaders('push', body, 'development'));
      for (let i = 0; i < 2; i++) {
        await expect(unset(event), 'every invocation').rejects.toThrow(
          "WEBHOOK_SECRET: required to receive webhooks (the GitHub App's webhook secret, or WEBHOOK_SECRET_FILE naming a file that holds it)",
        );
      }
      expect(await queues.queues.intake.backlog()).toBe(0);
    } finally {
      await unset.close();
      await queues.close();
    }
  });

  it('a configuration that cannot load fails the invocation, and the next one retries', async () => {
    const broken = createHandler({
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      REDIS_URL: redisUrl(),
      DEPLOYER_FLAVOUR: 'no-such-flavour',
    });
    const body = JSON.stringify(pushPayload(web, 'main', sha()));
    for (let i = 0; i < 2; i++) {
      await expect(broken(gatewayEvent(body, githubHeaders('push', body)))).rejects.toThrow(
        'DEPLOYER_FLAVOUR: expected one of',
      );
    }
    await broken.close();
  });

  it('concurrent cold-start invocations share one start and all succeed', async () => {
    const fresh = createHandler({
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      REDIS_URL: redisUrl(),
      DEPLOYER_FLAVOUR: 'tarides',
      DEPLOYER_REDIS_PREFIX: uniqueName('t'),
      LOG_LEVEL: 'silent' as const,
    });
    const payloads = [1, 2, 3].map(() => pushPayload({ ...web, name: 'unwatched' }, 'main', sha()));
    const results = await Promise.all(
      payloads.map((p) => {
        const body = JSON.stringify(p);
        return fresh(gatewayEvent(body, githubHeaders('push', body)));
      }),
    );
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    await fresh.close();
  });
});
