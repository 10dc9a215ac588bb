// Webhook intake: the deployer's receiver (signature check + routing + enqueue on
// the real Redis) against a bare Probot app that only verifies and acknowledges,
// both driven by the same load generator (load.ts, its own process) on loopback.
// Then a worker's intake takes in what the receiver enqueued, and is timed.
import { Queue } from 'bullmq';
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createNodeMiddleware, type ApplicationFunction } from 'probot';
import { startIntakeWorker } from '../src/jobs/intake-worker.js';
import { redisConnection, type Runtime } from '../src/wiring/runtime.js';
import { startHarness, uniqueName, WEBHOOK_SECRET, type Harness } from '../test/helpers/harness.js';
import { createTestProbot } from '../test/helpers/probot.js';
import { percentile, type LoadRequest, type LoadResult, type Phase } from './load.js';
import { deleteKeys } from '../test/helpers/redis-keys.js';

/** A phase's figures as the generator saw them, plus what the server spent. */
export interface PhaseFigures extends LoadResult {
  /** CPU time of the process serving the deliveries, per delivery answered (ms). */
  serverCpuMs: number;
  /** Redis commands the server sent per delivery (not counted for the bare app: none). */
  redisCommands?: number;
}

export interface IntakeFigures {
  rate: number;
  fixedMs: number;
  maxMs: number;
  concurrency: number;
  bare: { fixed: PhaseFigures; max: PhaseFigures };
  deployer: { fixed: PhaseFigures; max: PhaseFigures };
  /** Probot plus a single BullMQ `add` per delivery: one job per delivery, for reference. */
  oneEnqueue: { fixed: PhaseFigures; max: PhaseFigures };
  /** Deployer's saturated throughput over the bare app's. */
  ratio: number;
  /** One worker's intake (src/jobs/intake-worker.ts) taking in the receiver's backlog. */
  intake: IntakeDrain;
  /** Build jobs left waiting on the one branch pushed to; every push supersedes the one before. */
  waitingBuilds: number;
}

export interface IntakeDrain {
  /** Deliveries enqueued by the receiver during the run. */
  backlog: number;
  /** Of those, taken in before the time limit. */
  taken: number;
  durationMs: number;
  perSecond: number;
  /** Redis commands the intake sent per delivery taken in. */
  redisCommands: number;
}

const REPO = { owner: 'bench', name: 'intake', cloneUrl: 'https://github.com/bench/intake.git' };

/** A Probot app on its own HTTP server, as `createNodeMiddleware` documents it. */
async function startProbotApp(
  appFn: ApplicationFunction,
): Promise<{ url: string; server: Server }> {
  const middleware = await createNodeMiddleware(appFn, { probot: createTestProbot() });
  const server = createServer((req, res) => {
    void middleware(req, res, () => res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

class LoadProcess {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadProcess> {
    const child = fork(new URL('./load.ts', import.meta.url).pathname, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    });
    return new LoadProcess(child);
  }

  run(req: LoadRequest): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (msg: { result?: LoadResult; error?: string }) =>
        msg.result ? resolve(msg.result) : reject(new Error(msg.error)),
      );
      this.child.send(req);
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send('exit');
    await exited;
  }
}

/** Adds the two halves of a phase on the same server into one figure. */
function combine(a: PhaseFigures, b: PhaseFigures): PhaseFigures {
  const durationMs = a.durationMs + b.durationMs;
  const ok = a.ok + b.ok;
  const failures = { ...a.failures };
  for (const [k, v] of Object.entries(b.failures)) failures[k] = (failures[k] ?? 0) + v;
  const samples = [...a.samples, ...b.samples].sort((x, y) => x - y);
  const perDelivery = (f: (p: PhaseFigures) => number) => (f(a) * a.ok + f(b) * b.ok) / ok;
  return {
    sent: a.sent + b.sent,
    ok,
    failures,
    durationMs,
    perSecond: (ok * 1000) / durationMs,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    maxMs: samples[samples.length - 1] ?? NaN,
    samples,
    generatorCpuMs: a.generatorCpuMs + b.generatorCpuMs,
    serverCpuMs: perDelivery((p) => p.serverCpuMs),
    ...(a.redisCommands !== undefined && b.redisCommands !== undefined
      ? { redisCommands: perDelivery((p) => p.redisCommands!) }
      : {}),
  };
}

/** Counts the commands sent on an ioredis connection (a wrapper around `sendCommand`). */
function countCommands(redis: { sendCommand: (...args: never[]) => unknown }): () => number {
  let n = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (...args: never[]) => {
    n++;
    return send(...args);
  };
  return () => n;
}

const DRAIN_LIMIT_MS = 180_000;

/** Starts one worker's intake on the receiver's backlog and times it until it is empty. */
async function drainIntake(runtime: Runtime, commands: () => number): Promise<IntakeDrain> {
  const { intake } = runtime.queues;
  const backlog = await intake.backlog();
  const sent = commands();
  const started = performance.now();
  const stop = startIntakeWorker({
    deps: runtime,
    connection: runtime.redis,
    prefix: runtime.queues.prefix,
    log: createTestProbot().log,
    lockMs: 30_000,
  });
  while (!(await intake.drained()) && performance.now() - started < DRAIN_LIMIT_MS) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const durationMs = performance.now() - started;
  await stop();
  const taken = backlog - (await intake.backlog());
  return {
    backlog,
    taken,
    durationMs,
    perSecond: (taken * 1000) / durationMs,
    redisCommands: (commands() - sent) / Math.max(1, taken),
  };
}

export async function benchIntake(
  opts: { rate?: number; fixedMs?: number; maxMs?: number; concurrency?: number } = {},
): Promise<IntakeFigures> {
  const rate = opts.rate ?? 200;
  const fixedMs = opts.fixedMs ?? 10_000;
  const maxMs = opts.maxMs ?? 8_000;
  const concurrency = opts.concurrency ?? 32;

  let harness: Harness | undefined;
  const servers: Server[] = [];
  let load: LoadProcess | undefined;
  let queue: Queue | undefined;
  const refPrefix = uniqueName('bench-one-enqueue');
  const refRedis = redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390');
  try {
    // Receiver only: no worker takes the jobs, so what is measured is intake alone.
    harness = await startHarness(
      {
        name: uniqueName('bench-intake'),
        baseUrl: 'http://deployer.test',
        repos: [{ owner: REPO.owner, name: REPO.name, builds: [{ dockerfile: 'Dockerfile' }] }],
      },
      { worker: false },
    );
    const commands = {
      deployer: countCommands(harness.deployer.runtime.redis),
      oneEnqueue: countCommands(refRedis),
    };
    const bare = await startProbotApp(() => {});
    queue = new Queue('intake', { connection: refRedis, prefix: refPrefix });
    const q = queue;
    const oneEnqueue = await startProbotApp((app) => {
      app.on('push', async (context) => {
        const { after, ref, repository } = context.payload;
        await q.add('push', { after, ref, repo: repository.full_name }, { jobId: context.id });
      });
    });
    servers.push(bare.server, oneEnqueue.server);
    load = await LoadProcess.start();
    const targets = { bare: bare.url, deployer: harness.url, oneEnqueue: oneEnqueue.url };
    const run = async (target: keyof typeof targets, phase: Phase): Promise<PhaseFigures> => {
      const cpu = process.cpuUsage();
      const counter = target === 'bare' ? undefined : commands[target];
      const before = counter?.() ?? 0;
      const result = await load!.run({
        url: targets[target],
        secret: WEBHOOK_SECRET,
        repo: REPO,
        branch: 'main',
        phase,
        concurrency,
      });
      const used = process.cpuUsage(cpu);
      return {
        ...result,
        serverCpuMs: (used.user + used.system) / 1000 / result.ok,
        ...(counter ? { redisCommands: (counter() - before) / result.ok } : {}),
      };
    };

    // Warm-up (JIT, connections, Redis scripts loaded), not counted.
    for (const target of ['bare', 'deployer', 'oneEnqueue'] as const)
      await run(target, { kind: 'max', durationMs: 1_500 });

    // Each phase runs in two halves, in the order A B C C B A, so that a drift in the
    // machine's speed (other work on it) hits every server alike.
    const interleaved = async (phase: Phase) => {
      const order = ['bare', 'deployer', 'oneEnqueue'] as const;
      const first: Partial<Record<(typeof order)[number], PhaseFigures>> = {};
      for (const t of order) first[t] = await run(t, phase);
      const both = {} as Record<(typeof order)[number], PhaseFigures>;
      for (const t of [...order].reverse()) both[t] = combine(first[t]!, await run(t, phase));
      return both;
    };
    const fixed = await interleaved({ kind: 'fixed', rate, durationMs: fixedMs / 2 });
    const max = await interleaved({ kind: 'max', durationMs: maxMs / 2 });

    const intake = await drainIntake(harness.deployer.runtime, commands.deployer);
    const counts = await harness.deployer.runtime.queues.build('linux-x86_64').getJobCounts();
    return {
      rate,
      fixedMs,
      maxMs,
      concurrency,
      bare: { fixed: fixed.bare, max: max.bare },
      deployer: { fixed: fixed.deployer, max: max.deployer },
      oneEnqueue: { fixed: fixed.oneEnqueue, max: max.oneEnqueue },
      ratio: max.deployer.perSecond / max.bare.perSecond,
      intake,
      // Builds of branch pushes wait a moment (delayed) first, so a burst coalesces.
      waitingBuilds: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
    };
  } finally {
    await load?.stop();
    for (const server of servers) await new Promise((r) => server.close(r));
    await queue?.close();
    await deleteKeys(refRedis, refPrefix);
    refRedis.disconnect();
    if (harness) {
      await deleteKeys(harness.deployer.runtime.redis, harness.env.prefix);
      await harness.close();
    }
  }
}
