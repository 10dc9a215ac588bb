import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { packageVersion } from './observe/package-version.js';
import { registerRedisGauges, type RedisSources } from './observe/redis-gauges.js';
import { webhookEventLabel } from './receiver/event-label.js';

/**
 * The process's Prometheus metrics: Node's own (collectDefaultMetrics), counted
 * where things happen (a webhook answered, a job finished, a service deployed),
 * and read from Redis when scraped (src/observe/redis-gauges.ts).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly webhooks = new Counter({
    name: 'deployer_webhooks_total',
    help:
      'Webhook deliveries received, by event (a GitHub event name when signed with the secret, ' +
      '"other" for any other signed name, "unsigned" when not signed) and HTTP status of the answer',
    labelNames: ['event', 'status'] as const,
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: 'deployer_jobs_total',
    help: 'Jobs finished by this process, by queue and outcome',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly jobSeconds = new Histogram({
    name: 'deployer_job_duration_seconds',
    help: 'Time from a job starting to it finishing (builds and deploys)',
    labelNames: ['queue', 'state'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  private readonly deployments = new Counter({
    name: 'deployer_deployments_total',
    help: 'Service deploys, by service and result',
    labelNames: ['service', 'result'] as const,
    registers: [this.registry],
  });
  private readonly lastDeployed = new Gauge({
    name: 'deployer_deploy_last_success_timestamp_seconds',
    help: 'When this process last deployed the service with result "success" (Unix time)',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  /** Without `redis`, nothing is read from Redis (tests of the counters alone). */
  constructor(redis?: RedisSources) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'deployer_build_info',
      help: "Deployer's version and Node's, as labels; always 1",
      labelNames: ['version', 'node'] as const,
      registers: [this.registry],
    }).set({ version: packageVersion(), node: process.version }, 1);
    if (redis) registerRedisGauges(this.registry, redis);
  }

  /** A webhook delivery answered; `signed` when its signature was checked and good. */
  webhookAnswered(event: string, signed: boolean, status: number): void {
    this.webhooks.inc({ event: webhookEventLabel(event, signed), status: String(status) });
  }

  /** A finished BullMQ job: counted, and timed from when a worker took it. */
  jobFinished(
    queue: string,
    state: 'completed' | 'failed',
    job?: { processedOn?: number; finishedOn?: number },
  ): void {
    this.jobs.inc({ queue, state });
    if (job?.processedOn && job.finishedOn)
      this.jobSeconds.observe({ queue, state }, (job.finishedOn - job.processedOn) / 1000);
  }

  /** A service deploy ended. */
  deployed(service: string, result: 'success' | 'unchanged' | 'failure'): void {
    this.deployments.inc({ service, result });
    if (result === 'success') this.lastDeployed.setToCurrentTime({ service });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
