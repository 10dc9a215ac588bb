import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

/**
 * The process's Prometheus metrics, counted where things happen (a webhook
 * answered, a job finished, a service deployed); queue depth is read on scrape.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly webhooks = new Counter({
    name: 'deployer_webhooks_total',
    help: 'Webhook deliveries received, by event and HTTP status of the answer',
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
  readonly deployments = new Counter({
    name: 'deployer_deployments_total',
    help: 'Service deploys, by service and result',
    labelNames: ['service', 'result'] as const,
    registers: [this.registry],
  });

  constructor(
    queues: () => Queue[] = () => [],
    /** Entries of the intake stream not yet taken in (src/jobs/intake-stream.ts). */
    intakeEntries?: () => Promise<number>,
  ) {
    if (intakeEntries)
      new Gauge({
        name: 'deployer_intake_entries',
        help: 'Writes of webhook deliveries (one or more each) waiting to be taken in, when scraped',
        registers: [this.registry],
        async collect() {
          this.set(await intakeEntries());
        },
      });
    new Gauge({
      name: 'deployer_queue_jobs',
      help: 'Jobs in each queue, by state, when scraped',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const queue of queues()) {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES)
            this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      },
    });
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

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
