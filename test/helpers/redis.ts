import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Redis server of the tests; each test works under a key prefix of its own. */
export const testRedisUrl = process.env.HOOKLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Returns a new key prefix, so tests never see each other's keys. */
export function uniquePrefix(): string {
  return `hookline-test-${randomBytes(6).toString('hex')}:`;
}

/** Tells why Redis cannot be used here, or undefined when it can. Under CI=true a missing Redis throws instead. */
export async function redisUnavailable(): Promise<string | undefined> {
  const redis = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch {
    const reason = `Redis is not reachable at ${testRedisUrl}`;
    if (process.env.CI === 'true') {
      throw new Error(`${reason}; CI must run every Redis suite.`);
    }
    return reason;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under a prefix. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await redis.del(...keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
