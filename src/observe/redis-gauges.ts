import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { withDeadline } from './deadline.js';
import type { RedisProbe } from './redis-probe.js';

const QUEUE_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'completed',
  'failed',
] as const;

/** How long the reads of one scrape may take; past it the gauges read from Redis are left empty. */
const REDIS_READS_TIMEOUT_MS = 1_000;

export interface RedisSources {
  redis: RedisProbe;
  queues: () => Queue[];
  /** Deliveries of the intake queue not yet taken in (src/jobs/intake-queue.ts). */
  intakeEntries?: () => Promise<number>;
}

/**
 * Gauges read from Redis when scraped: whether it answers, and the queues' depths.
 * The depths are read only when Redis answers, within REDIS_READS_TIMEOUT_MS, and
 * are absent from a scrape that could not read them, so a scrape never waits on a
 * Redis that is down.
 */
export function registerRedisGauges(registry: Registry, sources: RedisSources): void {
  new Gauge({
    name: 'deployer_redis_up',
    help: 'Whether Redis answered a PING when scraped (1) or not (0)',
    registers: [registry],
    async collect() {
      this.set((await sources.redis.answers()) ? 1 : 0);
    },
  });
  const { intakeEntries } = sources;
  if (intakeEntries)
    new Gauge({
      name: 'deployer_intake_entries',
      help: 'Writes of webhook deliveries (one or more each) waiting to be taken in, when scraped',
      registers: [registry],
      async collect() {
        const entries = await readWhenUp(sources.redis, intakeEntries);
        if (entries === undefined) this.remove();
        else this.set(entries);
      },
    });
  new Gauge({
    name: 'deployer_queue_jobs',
    help: 'Jobs in each queue, by state, when scraped',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const depths = await readWhenUp(sources.redis, () => queueDepths(sources.queues()));
      this.reset();
      for (const { queue, counts } of depths ?? [])
        for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
    },
  });
}

function queueDepths(queues: Queue[]) {
  return Promise.all(
    queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...QUEUE_STATES) })),
  );
}

/** `read`'s result when Redis answers and the read ends in time; undefined otherwise. */
async function readWhenUp<T>(redis: RedisProbe, read: () => Promise<T>): Promise<T | undefined> {
  if (!(await redis.answers())) return undefined;
  return withDeadline<T | undefined>(read(), REDIS_READS_TIMEOUT_MS, undefined);
}
