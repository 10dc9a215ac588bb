import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ApplicationFunction, Probot } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { repoKey } from '../../src/config/repo-index.js';
import { ARCHS } from '../../src/config/schema.js';
import { planBuilds } from '../../src/plan/build-jobs.js';
import { parsePush } from '../../src/plan/commit-event.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
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
import { sign, startHarness, WEBHOOK_SECRET, type Harness } from '../helpers/harness.js';
import { runIntake } from '../helpers/intake.js';
import { pullRequestPayload, pushPayload, rerequestPayload } from '../helpers/payloads.js';
import { judgeDelivery, OTHER_HOOKS, ROUTES, type Verdict } from '../helpers/webhook-oracle.js';

const DELIVERIES = 10_000;
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

interface Delivery {
  kind: string;
  event: string;
  body: string;
  headers: Record<string, string>;
}

/** Header values as fetch can send them (printable Latin-1, no CR/LF/NUL). */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').trim() || 'x';

/** Content types @octokit/webhooks takes (it matches case-sensitively) and some it refuses. */
const JSON_TYPES = [
  'application/json; charset=utf-8',
  'application/json;',
  'application/json ;x=y',
];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'json',
  'Application/JSON',
  'application/jsonp',
  'application/json-patch+json',
  'application/vnd.github+json',
  '',
];

function headersFor(event: string, body: string, rng: Rng): Record<string, string> {
  return {
    'content-type': rng.chance(0.95) ? 'application/json' : rng.pick(JSON_TYPES),
    'x-github-event': event,
    'x-github-delivery': rng.chance(0.9)
      ? randomUUID()
      : rng.chance(0.8)
        ? headerSafe(rng.pick(EVIL_STRINGS))
        : '',
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
/** Actions that are not strings: @octokit/webhooks makes a hook name of them with `${}`. */
const ODD_ACTIONS: readonly unknown[] = [
  ['rerequested'],
  ['opened'],
  { toString: 'rerequested' },
  [{ toString: 1 }],
  {},
  5,
  true,
];

/** One hostile delivery; what the receiver must answer is for the oracle to say. */
function generate(rng: Rng, index: number): Delivery {
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
    'hookName',
    'oddAction',
    'missingHeader',
    'contentType',
    'wholeArray',
    'badInstallation',
    'primitive',
  ]);
  const signed = (kind: string, name: string, body: string): Delivery => ({
    kind,
    event: name,
    body,
    headers: headersFor(name, body, rng),
  });
  switch (category) {
    case 'mutated': {
      const { kind, body } = mutatePayload(rng, payload, index);
      return signed(kind, event, body);
    }
    case 'badSignature': {
      const body = rng.chance(0.5)
        ? mutatePayload(rng, payload, index).body
        : rng.pick([JSON.stringify(payload), 'null', '5', '"x"', 'true', '', '{']);
      const signature = rng.pick([
        sign(body, 'not-the-secret'),
        sign(`${body} `),
        `sha256=${'0'.repeat(64)}`,
        'sha1=0123456789abcdef0123456789abcdef01234567',
        'sha256=',
        '',
        headerSafe(rng.pick(EVIL_STRINGS)),
      ]);
      const headers = { ...headersFor(event, body, rng), 'x-hub-signature-256': signature };
      return { kind: 'badSignature', event, body, headers };
    }
    case 'truncated': {
      const full = JSON.stringify(payload);
      return signed('truncated', event, full.slice(0, rng.int(full.length - 1)));
    }
    case 'unknownEvent': {
      const names = [...EVIL_STRINGS, ...PROTOTYPE_NAMES, 'deploy_the_world', 'PUSH', 'ping'];
      return signed('unknownEvent', headerSafe(rng.pick(names)), JSON.stringify(payload));
    }
    case 'swappedEvent': {
      const other = rng.pick(bases.map(([e]) => e).filter((e) => e !== event));
      return signed('swappedEvent', other, JSON.stringify(payload));
    }
    case 'hookName':
      // A registered hook name ("check_suite.rerequested") sent as the event name.
      return signed('hookName', rng.pick(Object.keys(ROUTES)), JSON.stringify(payload));
    case 'oddAction':
      setAt(payload, ['action'], rng.pick(ODD_ACTIONS));
      return signed('oddAction', event, JSON.stringify(payload));
    case 'missingHeader': {
      const body = JSON.stringify(payload);
      const headers = headersFor(event, body, rng);
      const name = rng.pick(['x-github-event', 'x-github-delivery', 'x-hub-signature-256']);
      // Deleted, or there but empty (which @octokit/webhooks counts as there).
      if (rng.chance(0.7)) delete headers[name];
      else headers[name] = '';
      return { kind: 'missingHeader', event, body, headers };
    }
    case 'contentType': {
      const body = JSON.stringify(payload);
      const headers = headersFor(event, body, rng);
      if (rng.chance(0.2)) delete headers['content-type'];
      else headers['content-type'] = rng.pick(rng.chance(0.7) ? OTHER_TYPES : JSON_TYPES);
      return { kind: 'contentType', event, body, headers };
    }
    case 'badInstallation': {
      setAt(payload, ['installation', 'id'], otherValue(rng, 42));
      return signed('badInstallation', event, JSON.stringify(payload));
    }
    case 'primitive':
      return signed('primitive', event, rng.pick(['null', '0', '5', '"x"', 'true', 'false']));
    default: {
      const body = JSON.stringify(rng.chance(0.5) ? Object.values(payload) : [payload]);
      return signed('wholeArray', event, body);
    }
  }
}

const judge = (d: Delivery): Verdict => judgeDelivery(d.headers, d.body, WEBHOOK_SECRET);

/** True when the receiver would take a commit of a watched repository from `d`. */
function wouldAccept(h: Harness, d: Delivery): boolean {
  const { commit } = judge(d);
  return commit !== undefined && h.deployer.runtime.index.has(repoKey(commit.owner, commit.name));
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
  heap: number[];
}

/** Sends `count` deliveries, CONCURRENCY at a time, and checks each answer against the oracle. */
async function fuzz(h: Harness, seed: number, count: number): Promise<FuzzRun> {
  const rng = new Rng(seed);
  const started = Date.now();
  const statuses: Record<string, Record<number, number>> = {};
  const run: FuzzRun = { sent: 0, failures: [], heap: [heapAfterGc()] };
  let skippedValid = 0;
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() - started < DEADLINE_MS) {
      const index = next++;
      let d = generate(rng, index);
      // A mutant the app would still accept for the watched repository would rightly
      // enqueue work: never sent, so every job in the queues afterwards is a bug.
      while (wouldAccept(h, d)) {
        skippedValid++;
        d = generate(rng, index);
      }
      const expected = judge(d).status;
      let status: number;
      let answer = '';
      try {
        const res = await fetch(`${h.url}/api/github/webhooks`, {
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
      if (status !== expected) {
        const sample = d.body.length > 160 ? `${d.body.slice(0, 160)}…` : d.body;
        run.failures.push(
          `#${index} ${d.kind} event=${JSON.stringify(d.event)} → ${status} ${answer} ` +
            `(expected ${expected}) ${JSON.stringify(d.headers)}: ${sample}`,
        );
      }
      if (index % 1000 === 999) run.heap.push(heapAfterGc());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  run.heap.push(heapAfterGc());
  console.log(
    `webhook fuzz (seed ${seed}): ${run.sent} deliveries in ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
      `${skippedValid} still-valid mutants not sent; heap after GC (MB): ${mb(run.heap)}`,
    statuses,
  );
  return run;
}

const watchedWeb = testFlavour({
  repos: [
    testRepo('acme/web', {
      archs: ['linux-x86_64' as const, 'linux-arm64' as const],
      deployments: [{ branch: 'main', target: '127.0.0.1:5000/acme/web:live' }],
    }),
  ],
});

/** The build job ids in all pools. */
async function buildJobIds(h: Harness): Promise<string[]> {
  const ids: string[] = [];
  for (const arch of ARCHS)
    ids.push(...(await h.deployer.runtime.queues.build(arch).getJobs()).map((j) => j.id!));
  return ids.sort();
}

describe('webhook endpoint under 10,000 hostile deliveries (receiver only)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(watchedWeb, { worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function expectNothingEnqueued(): Promise<void> {
    const { queues } = h.deployer.runtime;
    const counts: Record<string, number> = {};
    const all = [...ARCHS.map((a) => queues.build(a)), queues.checks, queues.deploy];
    for (const q of all) {
      const byState = await q.getJobCounts();
      counts[q.name] = Object.values(byState).reduce((a, b) => a + b, 0);
    }
    counts.intake = await queues.intake.backlog();
    expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 0])));
    expect(await h.deployer.runtime.store.heads('acme/web')).toEqual({});
    expect(h.github.requests).toEqual([]);
  }

  it('never answers otherwise than the oracle, enqueues nothing, keeps answering and its memory', async () => {
    const seed = fuzzSeed();
    console.log(`webhook fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`);
    const run = await fuzz(h, seed, DELIVERIES);

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

  it('answers what Probot and @octokit/webhooks would answer with a 500 with a 4xx or 200', async () => {
    const push = pushPayload(web, 'main', 'd'.repeat(40));
    const cases: [string, string, number][] = [
      ['push', 'null', 400],
      ['push', '5', 400],
      ['__proto__', '{}', 200],
      ['hasOwnProperty', '{}', 200],
      ['push', JSON.stringify({ ...push, installation: { id: [1] } }), 200],
      ['push', JSON.stringify({ ...push, installation: { id: '42' } }), 200],
      ['check_suite', '{"action":{"toString":1}}', 200],
      ['check_suite', '{"action":[{"toString":1}]}', 200],
      ['', '{}', 200],
    ];
    for (const [event, body, status] of cases) {
      const res = await fetch(`${h.url}/api/github/webhooks`, {
        method: 'POST',
        headers: headersFor(event, body, new Rng(1)),
        body,
      });
      expect(res.status, `${event} ${body.slice(0, 40)}`).toBe(status);
    }
    await expectNothingEnqueued();
  });

  it('afterwards, a valid push of the watched repository enqueues exactly its planned builds', async () => {
    const payload = pushPayload(web, 'main', 'c'.repeat(40));
    const res = await h.send('push', payload);
    expect(res.status).toBe(200);
    // This deployer runs no worker: its intake is run here.
    const intake = runIntake(h.deployer.runtime);
    await intake.settled().finally(() => intake.close());
    const parsed = parsePush(payload);
    if (!('commit' in parsed)) throw new Error(parsed.ignore);
    const planned = planBuilds(h.deployer.runtime.index.get('acme/web')!, parsed.commit);
    expect(planned).toHaveLength(2);
    expect(await buildJobIds(h)).toEqual(planned.map((p) => p.jobId).sort());
  });
});

describe('the oracle agrees with the receiver where they could part', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(watchedWeb, { worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('knows every hook name src/app.ts registers', async () => {
    const names: string[] = [];
    const recorder = { webhooks: { on: (n: string | string[]) => names.push(...[n].flat()) } };
    await (createApp(h.deployer.runtime) as ApplicationFunction)(recorder as unknown as Probot, {
      cwd: process.cwd(),
      addHandler: () => undefined,
    });
    // Every commit-taking hook is the oracle's, and it knows what the others are.
    expect(names).toEqual(expect.arrayContaining(Object.keys(ROUTES)));
    for (const name of names) expect([...Object.keys(ROUTES), ...OTHER_HOOKS]).toContain(name);
  });

  /** Deliveries the fuzz rarely makes whole, with the answer each must get and whether a commit is taken. */
  const edges: [string, (sha: string) => Delivery, number, boolean][] = [
    [
      'a charset in the content type',
      (sha) => edge('push', push(sha), { 'content-type': 'application/json; charset=utf-8' }),
      200,
      true,
    ],
    [
      'an empty delivery id',
      (sha) => edge('push', push(sha), { 'x-github-delivery': '' }),
      200,
      true,
    ],
    ['a hook name as event name', (sha) => edge('check_suite.rerequested', rerun(sha)), 200, true],
    [
      'a check_run payload sent as check_suite',
      (sha) => edge('check_suite', rerun(sha, 'check_run')),
      200,
      true,
    ],
    [
      'a rerequest whose action is an array',
      (sha) => edge('check_suite', { ...rerun(sha), action: ['rerequested'] }),
      200,
      false,
    ],
    [
      'a hook name with another action',
      (sha) => edge('check_suite.rerequested', { ...rerun(sha), action: 'completed' }),
      200,
      false,
    ],
    [
      'a capitalised content type',
      (sha) => edge('push', push(sha), { 'content-type': 'Application/JSON' }),
      415,
      false,
    ],
    ['an empty body', () => edgeText('push', ''), 400, false],
    [
      'a body signed with another secret',
      (sha) =>
        edge('push', push(sha), {
          'x-hub-signature-256': sign(JSON.stringify(push(sha)), 'other'),
        }),
      400,
      false,
    ],
  ];

  it.each(edges)('%s: the oracle and the receiver agree', async (_, make, status, takes) => {
    const sha = randomUUID().replace(/-/g, '').padEnd(40, '0');
    const d = make(sha);
    expect([judge(d).status, wouldAccept(h, d)]).toEqual([status, takes]);
    const intake = h.deployer.runtime.queues.intake;
    const before = await intake.backlog();
    const res = await fetch(`${h.url}/api/github/webhooks`, {
      method: 'POST',
      headers: d.headers,
      body: d.body,
    });
    expect(res.status).toBe(status);
    // This deployer runs no worker: a commit taken is a delivery left for the intake.
    expect((await intake.backlog()) - before).toBe(takes ? 1 : 0);
  });
});

const push = (sha: string) => pushPayload(web, 'main', sha);
const rerun = (sha: string, kind: 'check_run' | 'check_suite' = 'check_suite') =>
  rerequestPayload(web, kind, sha, 'feature');

function edge(event: string, payload: unknown, headers: Record<string, string> = {}): Delivery {
  return edgeText(event, JSON.stringify(payload), headers);
}

function edgeText(event: string, body: string, headers: Record<string, string> = {}): Delivery {
  const base = {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': sign(body),
  };
  return { kind: 'edge', event, body, headers: { ...base, ...headers } };
}
