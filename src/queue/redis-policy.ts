import { Redis } from 'ioredis';
import { describeRedisUrl } from './redis-connections.js';

/** The only policy under which Redis never deletes keys to free memory. */
const requiredPolicy = 'noeviction';

/**
 * Reads `maxmemory-policy` of the Redis server at `url` and rejects a policy that lets Redis
 * evict keys, because an evicted job key is a job lost for good. Reads the policy with
 * `CONFIG GET`, or from `INFO memory` where CONFIG is disabled or not permitted.
 * Resolves with the policy. Rejects when the server cannot be reached, the policy cannot be
 * read, or the policy is not `noeviction`.
 */
export async function checkRedisPolicy(url: string, options: { connectTimeoutMs?: number } = {}): Promise<string> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Failures reach the caller through the rejected commands below.
  redis.on('error', () => {});

  const server = describeRedisUrl(url);
  try {
    try {
      await redis.connect();
    } catch (error) {
      throw new Error(`Could not connect to Redis at ${server} to check its maxmemory-policy: ${messageOf(error)}`, { cause: error });
    }

    const policy = await readPolicy(redis, server);
    if (policy !== requiredPolicy) {
      throw new Error(
        `Redis at ${server} has maxmemory-policy ${policy}, which lets Redis evict queue keys and lose jobs. ` +
          `Set "maxmemory-policy ${requiredPolicy}" in redis.conf, or run CONFIG SET maxmemory-policy ${requiredPolicy}, then start Hookline again.`,
      );
    }
    return policy;
  } finally {
    redis.disconnect();
  }
}

async function readPolicy(redis: Redis, server: string): Promise<string> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') {
      return reply[1];
    }
  } catch (error) {
    // Managed services often rename CONFIG or deny it by ACL, but INFO still shows the policy.
    if (!/unknown command|NOPERM|no permissions/i.test(messageOf(error))) {
      throw new Error(`Could not read maxmemory-policy of Redis at ${server}: ${messageOf(error)}`, { cause: error });
    }
  }

  const info = await redis.info('memory');
  const match = /^maxmemory_policy:(\S+)/m.exec(info);
  if (!match?.[1]) {
    throw new Error(
      `Could not read maxmemory-policy of Redis at ${server}: CONFIG GET is not available and INFO memory has no maxmemory_policy line. ` +
        `Make sure the server runs with maxmemory-policy ${requiredPolicy}.`,
    );
  }
  return match[1];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
