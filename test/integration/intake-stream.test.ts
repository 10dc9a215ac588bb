import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { IntakeWorkerDeps } from '../../src/jobs/intake-worker.js';
import { startIntakeWorker } from '../../src/jobs/intake-worker.js';
import type { IntakeJobData } from '../../src/jobs/intake-stream.js';
import { loadTestApp, type TestApp } from '../helpers/probot.js';
import { intakeSettled } from '../helpers/intake.js';
import { redisUrl, waitFor } from '../helpers/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { redisConnection } from '../../src/runtime.js';

const web = { owner: 'acme', name: 'web', cloneUrl: 'https://github.com/acme/web.git' };
const flavour = {
  baseUrl: 'http://deployer.test',
  repos: [{ owner: 'acme', name: 'web', builds: [{ dockerfile: 'Dockerfile' }] }],
};
const sha = () => randomUUID().replace(/-/g, '').padEnd(40, '0');

/** A delivery's commit, as the push handler appends it. */
function delivery(id = randomUUID(), commit = sha()): IntakeJobData {
  return {
    delivery: id,
    commit: { ...web, installationId: 1, sha: commit, ref: 'refs/heads/main', fork: false },
  };
}

/** A logger whose lines (their `msg`) are kept, to see what the intake did with each entry. */
function recordingLog() {
  const lines: { msg: string; delivery?: string; attempts?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('the intake stream', () => {
  const open: TestApp[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const app of open.splice(0)) await app.close();
  });

  async function app(): Promise<TestApp> {
    const a = await loadTestApp(flavour);
    open.push(a);
    return a;
  }

  function intake(a: TestApp, log = pino({ level: 'silent' }), extra = {}) {
    const stop = startIntakeWorker({
      deps: a.runtime,
      redis: a.runtime.redis,
      prefix: a.runtime.queues.prefix,
      log,
      lockMs: 1_000,
      ...extra,
    });
    stops.push(stop);
    return stop;
  }

  it('takes a redelivery in once, and leaves nothing behind', async () => {
    const a = await app();
    const { log, lines } = recordingLog();
    const first = delivery();
    await a.runtime.queues.intake.append(first);
    await a.runtime.queues.intake.append(first); // GitHub's "Redeliver"
    intake(a, log);
    await intakeSettled(a.runtime);
    expect(lines.filter((l) => l.delivery === first.delivery).map((l) => l.msg)).toEqual([
      'commit accepted',
      'redelivery already taken in',
    ]);
    expect(await a.runtime.store.heads('acme/web')).toEqual({
      'refs/heads/main': first.commit.sha,
    });
    expect(await a.runtime.redis.xlen(a.runtime.queues.intake.key)).toBe(0);
  });

  it('takes up what a reader that died had read, after the lock time', async () => {
    const a = await app();
    const stream = a.runtime.queues.intake;
    const d = delivery();
    await a.runtime.queues.intake.append(d);
    // A reader takes the entry and dies before it is done: it stays pending.
    await stream.ensureGroup();
    const reader = a.runtime.redis.duplicate();
    const read = await stream.read(reader, 'dead-reader', 10, 100);
    reader.disconnect();
    expect(read.flatMap((e) => e.deliveries.map((x) => x.delivery))).toEqual([d.delivery]);

    const started = Date.now();
    intake(a);
    await intakeSettled(a.runtime);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // not before its lock ran out
    expect(await a.runtime.store.heads('acme/web')).toEqual({ 'refs/heads/main': d.commit.sha });
  });

  it('retries a failing delivery with backoff, then gives it up without forgetting the next', async () => {
    const a = await app();
    const { log, lines } = recordingLog();
    const failing = delivery();
    const next = delivery(randomUUID(), sha());
    let tries = 0;
    // The repository index fails three times (a fault in the middle of intake): the
    // first delivery's three tries.
    const index = new Map(a.runtime.index);
    const get = index.get.bind(index);
    index.get = (key: string) => {
      if (tries < 3) {
        tries++;
        throw new Error('index unavailable');
      }
      return get(key);
    };
    const deps: IntakeWorkerDeps = { ...a.runtime, index };
    await a.runtime.queues.intake.append(failing);
    await a.runtime.queues.intake.append(next);
    const started = Date.now();
    intake(a, log, { deps, attempts: 3, backoffMs: 100 });
    await intakeSettled(a.runtime);
    expect(tries).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // waited 100 ms, then 200 ms
    const about = (d: IntakeJobData) =>
      lines.filter((l) => l.delivery === d.delivery).map((l) => l.msg);
    expect(about(failing)).toEqual([
      'intake of a delivery failed; retrying',
      'intake of a delivery failed; retrying',
      'intake of a delivery failed',
    ]);
    expect(about(next)).toEqual(['commit accepted']);
    // Given up, it is not remembered: GitHub's redelivery of it is taken in.
    expect(await a.runtime.queues.intake.taken(failing.delivery)).toBe(false);
    await a.runtime.queues.intake.append(failing);
    await waitFor('the redelivery taken in', () =>
      about(failing).at(-1) === 'commit accepted' ? true : undefined,
    );
  });

  it('holds a whole batch while it works through it: a second reader claims none of it', async () => {
    const a = await app();
    const deliveries = [delivery(), delivery(), delivery()];
    // Appended one by one: three entries, read together as one batch.
    for (const d of deliveries) await a.runtime.queues.intake.append(d);
    const real = a.runtime.store;
    let reads = 0;
    // Each delivery takes longer than the lock time below.
    const slow: typeof real = Object.assign(Object.create(real) as typeof real, {
      swapHead: async (...args: Parameters<typeof real.swapHead>) => {
        reads++;
        await new Promise((r) => setTimeout(r, 400));
        return real.swapHead(...args);
      },
    });
    const first = recordingLog();
    intake(a, first.log, { deps: { ...a.runtime, store: slow }, lockMs: 300 });
    await waitFor('the first reader to start on the batch', () => (reads ? true : undefined));
    const second = recordingLog();
    intake(a, second.log, { lockMs: 300 });
    await intakeSettled(a.runtime);
    const accepted = (lines: typeof first.lines) =>
      lines.filter((l) => l.msg === 'commit accepted').map((l) => l.delivery);
    expect(accepted(first.lines).sort()).toEqual(deliveries.map((d) => d.delivery).sort());
    expect(accepted(second.lines)).toEqual([]);
  });

  it('moves the deliveries an older deployer left in its BullMQ intake queue', async () => {
    const a = await app();
    const { prefix } = a.runtime.queues;
    const old = new Queue<IntakeJobData>('intake', { connection: a.runtime.redis, prefix });
    const left = [delivery(), delivery()];
    for (const d of left) await old.add('commit', d, { jobId: `delivery-${d.delivery}` });
    await old.close();
    intake(a);
    await waitFor('the old queue to be gone', async () =>
      (await a.runtime.redis.exists(`${prefix}:intake:meta`)) ? undefined : true,
    );
    await intakeSettled(a.runtime);
    for (const d of left) expect(await a.runtime.queues.intake.taken(d.delivery)).toBe(true);
    expect(await a.runtime.redis.keys(`${prefix}:intake:delivery-*`)).toEqual([]);
  });

  it('forgets readers gone long enough that hold nothing, and keeps one that holds an entry', async () => {
    const a = await app();
    const stream = a.runtime.queues.intake;
    await stream.ensureGroup();
    await a.runtime.redis.xgroup('CREATECONSUMER', stream.key, 'intake', 'gone-empty');
    await a.runtime.queues.intake.append(delivery());
    const reader = a.runtime.redis.duplicate();
    await stream.read(reader, 'gone-holding', 10, 100);
    reader.disconnect();
    await new Promise((r) => setTimeout(r, 50));
    await stream.forgetGone(20);
    const names = (
      (await a.runtime.redis.xinfo('CONSUMERS', stream.key, 'intake')) as unknown[][]
    ).map((fields) => fields[fields.indexOf('name') + 1]);
    expect(names).toEqual(['gone-holding']);
  });

  it('stops at once while Redis cannot be reached', async () => {
    const a = await app();
    const proxy = await new TcpProxy(Number(new URL(redisUrl()).port)).start();
    const redis = redisConnection(`redis://127.0.0.1:${proxy.port}`);
    redis.on('error', () => undefined);
    const stop = startIntakeWorker({
      deps: a.runtime,
      redis,
      prefix: a.runtime.queues.prefix,
      log: pino({ level: 'silent' }),
      lockMs: 1_000,
    });
    await waitFor('the group', async () =>
      (await a.runtime.redis.exists(a.runtime.queues.intake.key)) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 200)); // blocked in its read
    await proxy.stop(); // Redis is gone for this worker, and refuses it from now on
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    redis.disconnect();
  });

  it('stops at once while waiting for deliveries, and leaves the group', async () => {
    const a = await app();
    const stop = intake(a);
    await waitFor('the group', async () =>
      (await a.runtime.redis.exists(a.runtime.queues.intake.key)) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 100)); // blocked in its read
    const started = Date.now();
    await stop();
    expect(Date.now() - started).toBeLessThan(500);
    const consumers = (await a.runtime.redis.xinfo(
      'CONSUMERS',
      a.runtime.queues.intake.key,
      'intake',
    )) as unknown[];
    expect(consumers).toEqual([]);
  });
});
