import { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix:` (a test's or a benchmark's queues and records), on
 * `redis` or on a connection of its own to the Redis at that URL; returns how many.
 */
export async function deleteKeys(redis: Redis | string, prefix: string): Promise<number> {
  const conn = typeof redis === 'string' ? new Redis(redis) : redis;
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await conn.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) deleted += await conn.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    if (conn !== redis) conn.disconnect();
  }
  return deleted;
}
