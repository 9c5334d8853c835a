import type { Redis } from 'ioredis';

/** Visits every key under `prefix` (SCAN, never KEYS), a batch at a time. */
async function forEachKeyBatch(redis: Redis, prefix: string, visit: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      await visit(keys);
    }
  } while (cursor !== '0');
}

/**
 * Sums MEMORY USAGE over every key under `prefix`: the bytes that this run's keys take, not
 * counting other clients of a shared server. SAMPLES 0 measures every element of large keys.
 */
export async function prefixMemoryBytes(redis: Redis, prefix: string): Promise<number> {
  let total = 0;
  await forEachKeyBatch(redis, prefix, async (keys) => {
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    }
    for (const [error, bytes] of (await pipeline.exec()) ?? []) {
      if (error === null && typeof bytes === 'number') {
        total += bytes;
      }
    }
  });
  return total;
}

/** Deletes every key under `prefix`; never flushes the server. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  await forEachKeyBatch(redis, prefix, async (keys) => {
    await redis.del(...keys);
  });
}
