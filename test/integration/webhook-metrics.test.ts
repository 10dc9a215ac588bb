import { randomUUID } from 'node:crypto';
import { emitterEventNames } from '@octokit/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { testFlavour } from '../helpers/flavour.js';
import { Rng } from '../helpers/fuzz.js';
import { sign, startHarness, type Harness } from '../helpers/harness.js';

/** Over HTTP, through the guard (about 1.5 ms each here); then 100,000 straight to the counter. */
const NAMES_OVER_HTTP = 2_000;
const NAMES = 100_000;
const CONCURRENCY = 32;
const DEADLINE_MS = 100_000;
const GITHUB_EVENTS = new Set<string>(emitterEventNames.filter((n) => !n.includes('.')));
const LETTERS = 'abcdefghijklmnopqrstuvwxyz_';

/** A name no GitHub event has, of the letters the receiver once took as event names. */
function randomName(rng: Rng): string {
  for (;;) {
    let name = '';
    for (let n = rng.int(40) + 1; n > 0; n--) name += rng.pick([...LETTERS]);
    if (!GITHUB_EVENTS.has(name)) return name;
  }
}

/** Node's default metrics (GC kinds, handle types) gain series as the runtime goes: left out. */
const ownMetrics = <M extends { name: string }>(metrics: M[]): M[] =>
  metrics.filter((m) => m.name.startsWith('deployer_'));

describe('deployer_webhooks_total under random event names', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(testFlavour(), { worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Every series of Deployer's own metrics, and those of the webhook counter. */
  async function series(): Promise<{ all: number; webhooks: string[] }> {
    const metrics = ownMetrics(await h.deployer.metrics.registry.getMetricsAsJSON());
    const webhooks = metrics.find((m) => m.name === 'deployer_webhooks_total')!;
    return {
      all: metrics.reduce((n, m) => n + m.values.length, 0),
      webhooks: webhooks.values.map((v) => `${v.labels.event} ${v.labels.status}`).sort(),
    };
  }

  const post = (name: string, signed: boolean) => {
    const body = '{}';
    return fetch(`${h.url}/api/github/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': name,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': sign(body, signed ? undefined : 'not-the-secret'),
      },
      body,
    });
  };

  it(`${NAMES_OVER_HTTP} random names over HTTP, signed and unsigned, add no series`, async () => {
    const rng = new Rng(7);
    expect((await post(randomName(rng), true)).status).toBe(200);
    expect((await post(randomName(rng), false)).status).toBe(400);
    expect((await post('ping', true)).status).toBe(200);
    const before = await series();
    expect(before.webhooks).toEqual(['other 200', 'ping 200', 'unsigned 400']);

    const started = Date.now();
    let next = 0;
    const statuses: Record<number, number> = {};
    const sender = async () => {
      while (next < NAMES_OVER_HTTP && Date.now() - started < DEADLINE_MS) {
        next++;
        const res = await post(randomName(rng), rng.chance(0.5));
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, sender));
    console.log(`${next} random event names in ${Date.now() - started} ms`, statuses);
    expect(next).toBe(NAMES_OVER_HTTP);
    expect(await series()).toEqual(before);
  }, 120_000);

  it(`${NAMES} random names counted as answered keep the series of the registry constant`, async () => {
    const metrics = new Metrics();
    const rng = new Rng(11);
    const count = async () =>
      ownMetrics(await metrics.registry.getMetricsAsJSON()).reduce(
        (n, m) => n + m.values.length,
        0,
      );
    metrics.webhookAnswered('push', true, 200);
    metrics.webhookAnswered(randomName(rng), true, 200);
    metrics.webhookAnswered(randomName(rng), false, 400);
    const before = await count();
    for (let i = 0; i < NAMES; i++) {
      const signed = rng.chance(0.5);
      metrics.webhookAnswered(randomName(rng), signed, signed ? 200 : 400);
    }
    expect(await count()).toBe(before);
    const webhooks = await metrics.webhooks.get();
    expect(webhooks.values.find((v) => v.labels.event === 'unsigned')?.value).toBeGreaterThan(
      NAMES / 3,
    );
  });
});
