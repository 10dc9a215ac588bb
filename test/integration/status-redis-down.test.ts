import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { sample, timedGet } from '../helpers/prometheus-text.js';
import { spawnReceiver, type ReceiverProcess } from '../helpers/receiver-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { spawnWorker, untilLogged } from '../helpers/worker-process.js';

const FLAVOUR = { baseUrl: 'http://deployer.test', repos: [] };
/** What a scrape may take while Redis is down (a PING's 0.5 s, then 1 s of reads at most). */
const BOUND_MS = 2_000;

describe('/metrics, /readyz and /healthz of a receiver and a worker while their Redis is down', () => {
  let redis: RedisServer;
  let h: Harness;
  let worker: ChildProcess;
  let receiver: ReceiverProcess;
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    redis = await new RedisServer().start();
    // The harness (on the shared Redis) only lends its flavour and GitHub settings.
    h = await startHarness(FLAVOUR, { worker: false });
    const port = await freePort();
    worker = spawnWorker(h, {
      REDIS_URL: redis.url,
      DEPLOYER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    const started = untilLogged(worker, 'worker started');
    receiver = await spawnReceiver(FLAVOUR, { REDIS_URL: redis.url });
    await started;
    urls.worker = `http://127.0.0.1:${port}`;
    urls.receiver = receiver.url;
  }, 90_000);
  afterAll(async () => {
    redis?.resume();
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      // A second signal exits at once, should closing wait on a connection Redis dropped.
      const second = setTimeout(() => worker.kill('SIGTERM'), 20_000);
      await exited;
      clearTimeout(second);
    }
    await receiver?.stop();
    await h?.close();
    await redis?.stop();
  }, 60_000);

  /**
   * Scrapes until one answers within BOUND_MS. Every scrape must answer (a hung one is
   * aborted after 10 s); the machine's CPUs are shared, so a single slow answer may be the
   * scheduler's, but one that waits on Redis never answers in time.
   */
  async function boundedScrape(url: string): Promise<string> {
    const times: number[] = [];
    for (let tries = 0; tries < 3; tries++) {
      const { status, body, ms } = await timedGet(`${url}/metrics`);
      expect(status).toBe(200);
      times.push(Math.round(ms));
      if (ms < BOUND_MS) return body;
    }
    throw new Error(`no scrape of ${url} answered within ${BOUND_MS} ms: ${times.join(', ')} ms`);
  }

  const readyz = async (url: string) => (await timedGet(`${url}/readyz`)).status;

  it('both are ready while Redis answers, and say so in their metrics', async () => {
    for (const url of Object.values(urls)) {
      expect(await readyz(url)).toBe(200);
      const body = await boundedScrape(url);
      expect(sample(body, 'deployer_redis_up')).toBe(1);
      expect(sample(body, 'deployer_queue_jobs', { queue: 'deploy', state: 'waiting' })).toBe(0);
    }
  });

  it('Redis not answering (stopped, SIGSTOP): scrapes end in time with deployer_redis_up 0', async () => {
    redis.pause(); // connections stay open; commands wait for ever
    try {
      for (const url of Object.values(urls)) {
        const body = await boundedScrape(url);
        expect(sample(body, 'deployer_redis_up')).toBe(0);
        expect(body).not.toMatch(/^deployer_queue_jobs\{/m);
        expect(sample(body, 'deployer_intake_entries')).toBeUndefined();
        expect(body).toMatch(/^deployer_build_info\{.*\} 1$/m); // what needs no Redis is there
        expect(await readyz(url)).toBe(503);
        expect((await timedGet(`${url}/healthz`)).status).toBe(200);
      }
    } finally {
      redis.resume();
    }
    for (const url of Object.values(urls))
      await waitFor('ready again', async () => ((await readyz(url)) === 200 ? true : undefined));
  });

  it('Redis gone (killed): the same, and ready again once it is back', async () => {
    await redis.kill();
    for (const url of Object.values(urls)) {
      const body = await boundedScrape(url);
      expect(sample(body, 'deployer_redis_up')).toBe(0);
      expect(body).not.toMatch(/^deployer_queue_jobs\{/m);
      expect(await readyz(url)).toBe(503);
      expect((await timedGet(`${url}/healthz`)).status).toBe(200);
    }
    await redis.start(); // same port and data
    for (const url of Object.values(urls)) {
      const body = await waitFor('Redis to be seen up again', async () => {
        const { body } = await timedGet(`${url}/metrics`);
        return sample(body, 'deployer_redis_up') === 1 ? body : undefined;
      });
      expect(sample(body, 'deployer_queue_jobs', { queue: 'deploy', state: 'waiting' })).toBe(0);
      expect(await readyz(url)).toBe(200);
    }
  }, 90_000);

  it('a worker started while Redis is down is alive at once, and ready once Redis is up', async () => {
    // A Redis of its own, so the processes above see no second outage.
    const own = await new RedisServer().start();
    await own.kill();
    const port = await freePort();
    const late = spawnWorker(h, {
      REDIS_URL: own.url,
      DEPLOYER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    const exited = new Promise((r) => late.once('exit', r));
    try {
      const url = `http://127.0.0.1:${port}`;
      await untilLogged(late, 'metrics listening');
      const started = untilLogged(late, 'worker started');
      expect((await timedGet(`${url}/healthz`)).status).toBe(200);
      expect(await readyz(url)).toBe(503);
      expect(sample(await boundedScrape(url), 'deployer_redis_up')).toBe(0);
      await own.start();
      await started;
      expect(await readyz(url)).toBe(200);
    } finally {
      late.kill('SIGTERM');
      await exited;
      await own.stop();
    }
  }, 120_000);
});
