import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { INTAKE_QUEUE, intakeJobId, type IntakeJobData } from '../../src/jobs/intake-queue.js';
import { startIntakeWorker, type IntakeWorkerDeps } from '../../src/jobs/intake-worker.js';
import { redisConnection } from '../../src/wiring/runtime.js';
import { testFlavour, testRepo } from '../helpers/flavour.js';
import { redisUrl } from '../helpers/harness.js';
import { intakeSettled } from '../helpers/intake.js';
import { loadTestApp, type TestApp } from '../helpers/probot.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const web = { owner: 'acme', name: 'web', cloneUrl: 'https://github.com/acme/web.git' };
const flavour = testFlavour({ repos: [testRepo('acme/web')] });
const sha = () => randomUUID().replace(/-/g, '').padEnd(40, '0');

/** A delivery's commit, as the push handler adds it, and the payload it came in. */
function delivery(id = randomUUID(), commit = sha()): { payload: object; data: IntakeJobData } {
  return {
    payload: { ref: 'refs/heads/main', after: commit },
    data: {
      delivery: id,
      commit: { ...web, installationId: 1, sha: commit, ref: 'refs/heads/main', fork: false },
    },
  };
}

/** A logger whose lines (their `msg`) are kept, to see what the intake did with each delivery. */
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

describe('the intake queue', () => {
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

  function intake(a: TestApp, log = pino({ level: 'silent' }), deps: IntakeWorkerDeps = a.runtime) {
    const stop = startIntakeWorker({
      deps,
      connection: a.runtime.redis,
      prefix: a.runtime.queues.prefix,
      log,
      lockMs: 1_000,
    });
    stops.push(stop);
    return stop;
  }

  it('takes a delivery in once, redelivered or replayed under another delivery id', async () => {
    const a = await app();
    const { log, lines } = recordingLog();
    const first = delivery();
    const { intake: queue } = a.runtime.queues;
    await queue.add(intakeJobId(first.payload), first.data);
    await queue.add(intakeJobId(first.payload), first.data); // GitHub's "Redeliver"
    intake(a, log);
    await intakeSettled(a.runtime);
    // A captured delivery sent again later with a delivery id of the sender's choosing.
    const replay = { ...first.data, delivery: randomUUID() };
    await queue.add(intakeJobId({ ...first.payload }), replay);
    await intakeSettled(a.runtime);
    expect(lines.filter((l) => l.msg === 'commit accepted')).toHaveLength(1);
    expect(await queue.taken(intakeJobId(first.payload))).toBe(true);
    expect(await a.runtime.store.heads('acme/web')).toEqual({
      'refs/heads/main': first.data.commit.sha,
    });
  });

  it('takes up what a worker that died had taken, after the lock time', async () => {
    const a = await app();
    const d = delivery();
    await a.runtime.queues.intake.add(intakeJobId(d.payload), d.data);
    // A worker takes the delivery and dies before it is done: its lock runs out.
    const dead = new Worker(INTAKE_QUEUE, null, {
      connection: a.runtime.redis.duplicate(),
      prefix: a.runtime.queues.prefix,
      lockDuration: 1_000,
    });
    const taken = await dead.getNextJob('dead-token');
    expect(taken?.data.delivery).toBe(d.data.delivery);
    await dead.close(true);

    const started = Date.now();
    intake(a);
    await intakeSettled(a.runtime);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500); // not before its lock ran out
    expect(await a.runtime.store.heads('acme/web')).toEqual({
      'refs/heads/main': d.data.commit.sha,
    });
  });

  it('retries a failing delivery with backoff; the next delivery is taken all the same', async () => {
    const a = await app();
    const { log, lines } = recordingLog();
    const failing = delivery();
    const next = delivery();
    let tries = 0;
    // Taking the first delivery in fails twice (Redis answering an error, say).
    const store = Object.create(a.runtime.store) as typeof a.runtime.store;
    store.swapHead = (repo, ref, commit, before) => {
      if (commit === failing.data.commit.sha && tries < 2) {
        tries++;
        return Promise.reject(new Error('store unavailable'));
      }
      return a.runtime.store.swapHead(repo, ref, commit, before);
    };
    await a.runtime.queues.intake.add(intakeJobId(failing.payload), failing.data);
    await a.runtime.queues.intake.add(intakeJobId(next.payload), next.data);
    const started = Date.now();
    intake(a, log, { ...a.runtime, store });
    await intakeSettled(a.runtime);
    expect(tries).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500); // waited 1 s, then 2 s
    const failed = lines.filter((l) => l.msg === 'intake of a delivery failed');
    expect(failed.map((l) => l.delivery)).toEqual([failing.data.delivery, failing.data.delivery]);
    const accepted = lines.filter((l) => l.msg === 'commit accepted').map((l) => l.delivery);
    expect(accepted.sort()).toEqual([failing.data.delivery, next.data.delivery].sort());
  });

  it('moves the deliveries an older deployer left in its intake stream', async () => {
    const a = await app();
    const { prefix } = a.runtime.queues;
    const left = [delivery(), delivery()];
    await a.runtime.redis.xadd(
      `${prefix}:intake:deliveries`,
      '*',
      ...left.flatMap((d) => ['d', JSON.stringify(d.data)]),
    );
    const { log, lines } = recordingLog();
    intake(a, log);
    await new Promise((r) => setTimeout(r, 300));
    await intakeSettled(a.runtime);
    const accepted = lines.filter((l) => l.msg === 'commit accepted').map((l) => l.delivery);
    expect(accepted.sort()).toEqual(left.map((d) => d.data.delivery).sort());
    expect(await a.runtime.redis.exists(`${prefix}:intake:deliveries`)).toBe(0);
  });

  it('stops within a second while Redis cannot be reached', async () => {
    const a = await app();
    const proxy = await new TcpProxy(Number(new URL(redisUrl()).port)).start();
    const redis = redisConnection(`redis://127.0.0.1:${proxy.port}`);
    redis.on('error', () => undefined);
    const stop = startIntakeWorker({
      deps: a.runtime,
      connection: redis,
      prefix: a.runtime.queues.prefix,
      log: pino({ level: 'silent' }),
      lockMs: 1_000,
    });
    await new Promise((r) => setTimeout(r, 300)); // waiting for deliveries
    await proxy.stop(); // Redis is gone for this worker, and refuses it from now on
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    redis.disconnect();
  });
});
