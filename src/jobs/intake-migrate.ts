import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import type { IntakeJobData, IntakeQueue } from './intake-queue.js';

const FIELD = 'd';

/**
 * Deliveries a deployer of the previous version left in its intake stream (a Redis
 * stream of JSON fields) are added to the intake queue, once, and the stream is
 * removed: an upgrade loses none. Returns how many were moved.
 */
export async function moveOldIntakeStream(
  redis: Redis,
  prefix: string,
  intake: IntakeQueue,
  log: Logger,
): Promise<number> {
  const key = `${prefix}:intake:deliveries`;
  if ((await redis.type(key)) !== 'stream') return 0;
  const entries = (await redis.xrange(key, '-', '+')) as [string, string[]][];
  let moved = 0;
  for (const [, fields] of entries) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] !== FIELD) continue;
      const data = JSON.parse(fields[i + 1]) as IntakeJobData;
      const id = createHash('sha256').update(data.delivery).digest('hex').slice(0, 40);
      await intake.add(`moved-${id}`, data);
      moved++;
    }
  }
  await redis.del(key);
  if (moved) log.info({ moved }, 'deliveries moved from the old intake stream');
  return moved;
}
