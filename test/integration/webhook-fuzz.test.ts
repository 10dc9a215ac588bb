import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeMiddleware, createProbot } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { repoKey } from '../../src/config/repo-index.js';
import { ARCHS } from '../../src/config/schema.js';
import { planBuilds } from '../../src/plan/build-jobs.js';
import { CHECK_NAME } from '../../src/plan/check-run-output.js';
import {
  parsePullRequest,
  parsePush,
  parseRerequest,
  type Parsed,
} from '../../src/plan/commit-event.js';
import { guardWebhooks } from '../../src/webhook-guard.js';
import {
  EVIL_STRINGS,
  fuzzSeed,
  getAt,
  nestedText,
  otherValue,
  pathsOf,
  Rng,
  setAt,
  type Path,
} from '../helpers/fuzz.js';
import { sign, startHarness, TestOctokit, type Harness } from '../helpers/harness.js';
import { pullRequestPayload, pushPayload, rerequestPayload } from '../helpers/payloads.js';

const DELIVERIES = 10_000;
/** Against the receiver with the proposed guard (src/webhook-guard.ts) in front. */
const GUARDED_DELIVERIES = 2_000;
const CONCURRENCY = 20;
const DEADLINE_MS = 100_000;
const HUGE = 1024 * 1024;

const web = { owner: 'acme', name: 'web', cloneUrl: 'https://github.com/acme/web.git' };
const hex40 = (rng: Rng) => rng.bytes(20).toString('hex');

/** A real payload of each routed event, for the watched repository: valid before mutation. */
const bases: [string, (rng: Rng) => Record<string, unknown>][] = [
  ['push', (rng) => pushPayload(web, 'main', hex40(rng))],
  ['pull_request', (rng) => pullRequestPayload(web, 'opened', rng.int(500) + 1, hex40(rng))],
  ['pull_request', (rng) => pullRequestPayload(web, 'synchronize', 7, hex40(rng), true)],
  ['check_run', (rng) => rerequestPayload(web, 'check_run', hex40(rng), 'main')],
  ['check_suite', (rng) => rerequestPayload(web, 'check_suite', hex40(rng), 'main')],
];

/** Where names that reach git, Redis keys and logs sit in those payloads. */
const NAME_PATHS: Path[] = [
  ['ref'],
  ['after'],
  ['repository', 'name'],
  ['repository', 'owner', 'login'],
  ['repository', 'clone_url'],
  ['repository', 'full_name'],
  ['pull_request', 'head', 'sha'],
  ['pull_request', 'head', 'repo', 'full_name'],
  ['pull_request', 'head', 'repo', 'clone_url'],
  ['pull_request', 'base', 'repo', 'full_name'],
  ['check_run', 'name'],
  ['check_run', 'check_suite', 'head_branch'],
  ['check_suite', 'head_branch'],
  ['check_suite', 'head_sha'],
  ['action'],
];

/** The parts of the payloads that the parsers read (src/plan/commit-event.ts). */
const RELEVANT: Path[] = [
  ['ref'],
  ['after'],
  ['deleted'],
  ['action'],
  ['number'],
  ['repository'],
  ['installation'],
  ['pull_request', 'head'],
  ['pull_request', 'base'],
  ['check_run', 'name'],
  ['check_run', 'check_suite'],
  ['check_suite', 'head_sha'],
  ['check_suite', 'head_branch'],
  ['check_suite', 'pull_requests'],
];

/** What the receiver must answer: `signed` deliveries of JSON objects or arrays are acknowledged. */
type Expect = 'ack' | 400 | 415;

interface Delivery {
  kind: string;
  event: string;
  body: string;
  headers: Record<string, string>;
  expect: Expect;
}

/** Header values as fetch can send them (printable Latin-1, no CR/LF/NUL). */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').trim() || 'x';

function headersFor(event: string, body: string, rng: Rng): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': rng.chance(0.9) ? randomUUID() : headerSafe(rng.pick(EVIL_STRINGS)),
    'x-hub-signature-256': sign(body),
  };
}

/** Wrong types, hostile names, deleted keys, arrays for objects, numbers as strings… */
function mutatePayload(rng: Rng, payload: unknown, index: number): { kind: string; body: string } {
  const kinds: string[] = [];
  let deep: string | undefined;
  for (let n = rng.int(3) + 1; n > 0; n--) {
    const paths = pathsOf(payload);
    const kind = rng.pick([
      'wrongType',
      'wrongType',
      'evilName',
      'evilName',
      'deleteKey',
      'arrayForObject',
      'numberAsString',
      'hugeString',
      'deepNesting',
    ]);
    kinds.push(kind);
    // Half the time somewhere the parsers look, so most mutants are invalid, not just odd.
    const relevant = paths.filter((p) => RELEVANT.some((r) => r.every((k, i) => p[i] === k)));
    const path = rng.pick(relevant.length && rng.chance(0.5) ? relevant : paths);
    switch (kind) {
      case 'wrongType':
        setAt(payload, path, otherValue(rng, getAt(payload, path)));
        break;
      case 'evilName': {
        const where = NAME_PATHS.filter((p) => getAt(payload, p.slice(0, -1)) !== undefined);
        setAt(payload, rng.pick(where.length ? where : [path]), rng.pick(EVIL_STRINGS));
        break;
      }
      case 'deleteKey':
        setAt(payload, path, undefined);
        break;
      case 'arrayForObject': {
        const objects = paths.filter((p) => {
          const v = getAt(payload, p);
          return v !== null && typeof v === 'object' && !Array.isArray(v);
        });
        const p = objects.length ? rng.pick(objects) : path;
        setAt(payload, p, Object.values(getAt(payload, p) ?? {}));
        break;
      }
      case 'numberAsString': {
        const numbers = paths.filter((p) => typeof getAt(payload, p) === 'number');
        const p = numbers.length ? rng.pick(numbers) : path;
        setAt(payload, p, String(getAt(payload, p)));
        break;
      }
      case 'hugeString':
        // A few deliveries carry 1 MB; the rest up to 16 kB, so the run stays short.
        setAt(payload, path, 'z'.repeat(index % 2000 === 1 ? HUGE : rng.int(16_384) + 1));
        break;
      case 'deepNesting':
        deep = nestedText(rng.int(5000) + 100);
        setAt(payload, path, '\u0000DEEP\u0000');
        break;
    }
  }
  let body = JSON.stringify(payload);
  if (deep) body = body.replace('"\\u0000DEEP\\u0000"', deep);
  return { kind: kinds.join('+'), body };
}

/** Names @octokit/webhooks looks up in a plain object: properties of Object.prototype. */
const PROTOTYPE_NAMES = ['__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'constructor'];

/**
 * One hostile delivery. A correctly signed top-level JSON primitive (`null`, `5`) is
 * only made with `primitives`: @octokit/webhooks answers it with a 500 by itself.
 */
function generate(rng: Rng, index: number, primitives: boolean): Delivery {
  const [event, base] = rng.pick(bases);
  const payload = base(rng);
  const category = rng.pick([
    'mutated',
    'mutated',
    'mutated',
    'mutated',
    'mutated',
    'mutated',
    'badSignature',
    'truncated',
    'unknownEvent',
    'swappedEvent',
    'missingHeader',
    'wrongContentType',
    'wholeArray',
    'badInstallation',
    ...(primitives ? ['primitive'] : []),
  ]);
  const signed = (kind: string, name: string, body: string, expect: Expect = 'ack'): Delivery => ({
    kind,
    event: name,
    body,
    headers: headersFor(name, body, rng),
    expect,
  });
  switch (category) {
    case 'mutated': {
      const { kind, body } = mutatePayload(rng, payload, index);
      return signed(kind, event, body);
    }
    case 'badSignature': {
      const body = rng.chance(0.5)
        ? mutatePayload(rng, payload, index).body
        : // Unsigned primitives are refused before they are parsed.
          rng.pick([JSON.stringify(payload), 'null', '5', '"x"', 'true', '', '{']);
      const signature = rng.pick([
        sign(body, 'not-the-secret'),
        sign(`${body} `),
        `sha256=${'0'.repeat(64)}`,
        'sha1=0123456789abcdef0123456789abcdef01234567',
        'sha256=',
        headerSafe(rng.pick(EVIL_STRINGS)),
      ]);
      const headers = { ...headersFor(event, body, rng), 'x-hub-signature-256': signature };
      return { kind: 'badSignature', event, body, headers, expect: 400 };
    }
    case 'truncated': {
      const full = JSON.stringify(payload);
      return signed('truncated', event, full.slice(0, rng.int(full.length - 1)), 400);
    }
    case 'unknownEvent': {
      const names = [...EVIL_STRINGS, ...PROTOTYPE_NAMES, 'deploy_the_world', 'PUSH', 'ping'];
      return signed('unknownEvent', headerSafe(rng.pick(names)), JSON.stringify(payload));
    }
    case 'swappedEvent': {
      const other = rng.pick(bases.map(([e]) => e).filter((e) => e !== event));
      return signed('swappedEvent', other, JSON.stringify(payload));
    }
    case 'missingHeader': {
      const body = JSON.stringify(payload);
      const headers = headersFor(event, body, rng);
      delete headers[rng.pick(['x-github-event', 'x-github-delivery', 'x-hub-signature-256'])];
      return { kind: 'missingHeader', event, body, headers, expect: 400 };
    }
    case 'wrongContentType': {
      const body = JSON.stringify(payload);
      const headers = {
        ...headersFor(event, body, rng),
        'content-type': rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'json']),
      };
      return { kind: 'wrongContentType', event, body, headers, expect: 415 };
    }
    case 'badInstallation': {
      setAt(payload, ['installation', 'id'], otherValue(rng, 42));
      return signed('badInstallation', event, JSON.stringify(payload));
    }
    case 'primitive':
      return signed('primitive', event, rng.pick(['null', '0', '5', '"x"', 'true', 'false']), 400);
    default: {
      const body = JSON.stringify(rng.chance(0.5) ? Object.values(payload) : [payload]);
      return signed('wholeArray', event, body);
    }
  }
}

/**
 * What the app would do with a signed delivery, by the same parsers its handlers use:
 * true when it would accept a commit of the watched repository.
 */
function wouldAccept(h: Harness, d: Delivery): boolean {
  if (d.expect !== 'ack') return false;
  let payload: unknown;
  try {
    payload = JSON.parse(d.body);
  } catch {
    return false;
  }
  const action = (payload as { action?: unknown } | null)?.action;
  let parsed: Parsed | undefined;
  if (d.event === 'push') parsed = parsePush(payload);
  else if (
    d.event === 'pull_request' &&
    typeof action === 'string' &&
    ['opened', 'synchronize', 'reopened'].includes(action)
  )
    parsed = parsePullRequest(payload);
  else if (['check_run', 'check_suite'].includes(d.event) && action === 'rerequested')
    parsed = parseRerequest(payload, CHECK_NAME);
  if (!parsed || !('commit' in parsed)) return false;
  return h.deployer.runtime.index.has(repoKey(parsed.commit.owner, parsed.commit.name));
}

/**
 * Signed deliveries that Probot and @octokit/webhooks answer with a 500 before any of
 * our code runs (src/webhook-guard.ts screens them; src/receiver.ts does not use it yet):
 * an event name found on Object.prototype, or an installation id that is not a number.
 */
function knownUpstream500(d: Delivery, status: number, answer: string): boolean {
  if (status !== 500) return false;
  if (d.event in Object.prototype) return true;
  let id: unknown;
  try {
    id = (JSON.parse(d.body) as { installation?: { id?: unknown } })?.installation?.id;
  } catch {
    return false;
  }
  return Boolean(id) && typeof id !== 'number' && answer.includes('@octokit/auth-app');
}

/** The heap after a full collection, when the collector can be reached; else as it is. */
function heapAfterGc(): number {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // no collector at hand: a noisier reading, the bound is generous
  }
  return process.memoryUsage().heapUsed;
}

const MB = 1024 * 1024;
const mb = (bytes: number[]) => bytes.map((b) => (b / MB).toFixed(1)).join(' ');

interface FuzzRun {
  sent: number;
  failures: string[];
  tolerated: number;
  heap: number[];
}

/** Sends `count` deliveries, CONCURRENCY at a time, and checks each answer. */
async function fuzz(
  h: Harness,
  url: string,
  seed: number,
  count: number,
  opts: { primitives: boolean; tolerateKnown: boolean },
): Promise<FuzzRun> {
  const rng = new Rng(seed);
  const started = Date.now();
  const statuses: Record<string, Record<number, number>> = {};
  const run: FuzzRun = { sent: 0, failures: [], tolerated: 0, heap: [heapAfterGc()] };
  let skippedValid = 0;
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() - started < DEADLINE_MS) {
      const index = next++;
      let d = generate(rng, index, opts.primitives);
      // A mutant the app would still accept for the watched repository would rightly
      // enqueue builds: never sent, so every job in the queues afterwards is a bug.
      while (wouldAccept(h, d)) {
        skippedValid++;
        d = generate(rng, index, opts.primitives);
      }
      let status: number;
      let answer = '';
      try {
        const res = await fetch(`${url}/api/github/webhooks`, {
          method: 'POST',
          headers: d.headers,
          body: d.body,
          signal: AbortSignal.timeout(30_000),
        });
        answer = (await res.text()).slice(0, 160).trim();
        status = res.status;
      } catch (err) {
        run.failures.push(`#${index} ${d.kind} ${d.event}: ${(err as Error).message}`);
        continue;
      }
      run.sent++;
      const kind = d.kind.split('+')[0];
      (statuses[kind] ??= {})[status] = (statuses[kind][status] ?? 0) + 1;
      if (opts.tolerateKnown && knownUpstream500(d, status, answer)) {
        run.tolerated++;
        continue;
      }
      const ok = d.expect === 'ack' ? status >= 200 && status < 300 : status === d.expect;
      if (!ok) {
        const sample = d.body.length > 160 ? `${d.body.slice(0, 160)}…` : d.body;
        run.failures.push(
          `#${index} ${d.kind} event=${JSON.stringify(d.event)} → ${status} ${answer} ` +
            `(expected ${d.expect}): ${sample}`,
        );
      }
      if (index % 1000 === 999) run.heap.push(heapAfterGc());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  run.heap.push(heapAfterGc());
  console.log(
    `webhook fuzz (seed ${seed}): ${run.sent} deliveries in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
      `${skippedValid} still-valid mutants not sent, ${run.tolerated} known upstream 500s; ` +
      `heap after GC (MB): ${mb(run.heap)}`,
    statuses,
  );
  return run;
}

describe('webhook endpoint under 10,000 hostile deliveries (receiver only)', () => {
  let h: Harness;
  let guarded: Server;
  let guardedUrl: string;

  beforeAll(async () => {
    h = await startHarness(
      {
        baseUrl: 'http://deployer.test',
        repos: [
          {
            owner: 'acme',
            name: 'web',
            builds: [
              {
                dockerfile: 'Dockerfile',
                archs: ['linux-x86_64', 'linux-arm64'],
                deployments: [{ branch: 'main', target: '127.0.0.1:5000/acme/web:live' }],
              },
            ],
          },
        ],
      },
      { worker: false },
    );
    // The same app and queues behind the guard, wired as src/receiver.ts would be.
    const probot = createProbot({
      env: h.probotEnv as NodeJS.ProcessEnv,
      overrides: { Octokit: TestOctokit },
    });
    await probot.ready();
    const middleware = guardWebhooks(
      probot.webhooks,
      await createNodeMiddleware(createApp(h.deployer.runtime), { probot }),
    );
    guarded = createServer((req, res) => {
      void middleware(req, res, () => res.writeHead(404).end());
    });
    await new Promise<void>((r) => guarded.listen(0, '127.0.0.1', r));
    guardedUrl = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => guarded?.close(r));
    await h?.close();
  });

  async function expectNothingEnqueued(): Promise<void> {
    const { queues } = h.deployer.runtime;
    const counts: Record<string, number> = {};
    for (const q of [...ARCHS.map((a) => queues.build(a)), queues.checks, queues.deploy]) {
      const byState = await q.getJobCounts();
      counts[q.name] = Object.values(byState).reduce((a, b) => a + b, 0);
    }
    expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 0])));
    expect(await h.deployer.runtime.store.heads('acme/web')).toEqual({});
    expect(h.github.requests).toEqual([]);
  }

  it('never answers 5xx, enqueues nothing, keeps answering and keeps its memory', async () => {
    const seed = fuzzSeed();
    console.log(`webhook fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`);
    const run = await fuzz(h, h.url, seed, DELIVERIES, { primitives: false, tolerateKnown: true });

    expect(run.failures.slice(0, 20), `seed ${seed}: ${run.failures.length} failures`).toEqual([]);
    expect(run.sent).toBe(DELIVERIES);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    await expectNothingEnqueued();
    // Memory flat: the second half of the run does not grow the heap past a generous bound.
    const half = run.heap[Math.floor(run.heap.length / 2)];
    expect((run.heap[run.heap.length - 1] - half) / MB, `heap (MB) ${mb(run.heap)}`).toBeLessThan(
      50,
    );
  }, 150_000);

  it('behind src/webhook-guard.ts, not even the upstream cases answer 5xx', async () => {
    const seed = fuzzSeed() + 1;
    const run = await fuzz(h, guardedUrl, seed, GUARDED_DELIVERIES, {
      primitives: true,
      tolerateKnown: false,
    });
    expect(run.failures.slice(0, 20), `seed ${seed}: ${run.failures.length} failures`).toEqual([]);
    expect(run.sent).toBe(GUARDED_DELIVERIES);
    await expectNothingEnqueued();
  }, 60_000);

  // Known gap: the HTTP receiver does not put guardWebhooks() in front of Probot yet
  // (src/lambda.ts does); until it does, these upstream cases get a 500.
  it.fails('the receiver itself answers the upstream cases without a 5xx', async () => {
    const cases: [string, string][] = [
      ['push', 'null'],
      ['__proto__', '{}'],
      ['hasOwnProperty', '{}'],
      [
        'push',
        JSON.stringify({ ...pushPayload(web, 'main', 'd'.repeat(40)), installation: { id: [1] } }),
      ],
    ];
    for (const [event, body] of cases) {
      const res = await fetch(`${h.url}/api/github/webhooks`, {
        method: 'POST',
        headers: headersFor(event, body, new Rng(1)),
        body,
      });
      expect(res.status, `${event} ${body.slice(0, 40)}`).toBeLessThan(500);
    }
  });

  it('afterwards, a valid push of the watched repository enqueues exactly its planned builds', async () => {
    const payload = pushPayload(web, 'main', 'c'.repeat(40));
    const res = await h.send('push', payload);
    expect(res.status).toBe(200);
    const parsed = parsePush(payload);
    if (!('commit' in parsed)) throw new Error(parsed.ignore);
    const planned = planBuilds(h.deployer.runtime.index.get('acme/web')!, parsed.commit);
    expect(planned).toHaveLength(2);
    const ids: string[] = [];
    for (const arch of ARCHS)
      ids.push(...(await h.deployer.runtime.queues.build(arch).getJobs()).map((j) => j.id!));
    expect(ids.sort()).toEqual(planned.map((p) => p.jobId).sort());
  });
});
