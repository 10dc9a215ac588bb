import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { IntakeJobData, IntakeStream } from './intake-stream.js';

const OLD_QUEUE = 'intake';
const UNFINISHED = ['wait', 'delayed', 'prioritized', 'active'] as const;

/**
 * Deliveries a deployer from before the intake stream left in its BullMQ `intake`
 * queue are appended to the stream, once, and the queue is removed: an upgrade loses
 * none. Returns how many were moved.
 */
export async function moveOldIntakeQueue(
  redis: Redis,
  prefix: string,
  stream: IntakeStream,
  log: Logger,
): Promise<number> {
  if (!(await redis.exists(`${prefix}:${OLD_QUEUE}:meta`))) return 0;
  const queue = new Queue<IntakeJobData>(OLD_QUEUE, { connection: redis, prefix });
  try {
    const jobs = await queue.getJobs([...UNFINISHED]);
    for (const job of jobs) await stream.append(job.data);
    await queue.obliterate({ force: true });
    if (jobs.length) log.info({ moved: jobs.length }, 'deliveries moved from the old intake queue');
    return jobs.length;
  } finally {
    await queue.close();
  }
}
