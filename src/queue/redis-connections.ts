import { Redis, type RedisOptions } from 'ioredis';
import type { ErrorLogThrottle } from './error-log-throttle.js';

/** Creates a Redis connection. Tests pass one that records its connections so they can cut them. */
export type CreateRedis = (url: string, options: RedisOptions) => Redis;

/**
 * Purpose of a connection:
 * - `producer`: adds, counts and removes jobs. Commands fail at once while Redis is
 *   unreachable, so the outbox relay can back off and an API request does not hang.
 * - `worker`: shared by the BullMQ workers of one server. BullMQ requires commands to wait
 *   for a reconnect there (`maxRetriesPerRequest: null`), and each worker adds its own
 *   blocking connection as a copy of it.
 * - `transactions`: a connection of its own for WATCH, which would be cancelled by any
 *   MULTI that another caller ran on a shared connection.
 */
export type ConnectionRole = 'producer' | 'worker' | 'transactions';

/** Milliseconds a command may wait for its reply before it fails. */
const commandTimeoutMs = 5_000;

const optionsByRole: Record<ConnectionRole, RedisOptions> = {
  producer: { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: commandTimeoutMs },
  worker: { maxRetriesPerRequest: null },
  transactions: { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: commandTimeoutMs },
};

/**
 * Resolves once `redis` is ready. Waits up to `timeoutMs` while a first connection attempt
 * is still under way, and rejects at once while the connection is down or reconnecting,
 * so that callers fail fast instead of waiting for Redis to come back.
 */
export async function whenConnected(redis: Redis, timeoutMs = commandTimeoutMs): Promise<void> {
  if (redis.status === 'ready') {
    return;
  }
  if (!['wait', 'connecting', 'connect'].includes(redis.status)) {
    throw new Error(`Redis is not connected (connection status: ${redis.status}).`);
  }

  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('close', onClose);
      if (error) {
        reject(error);
      } else {
        resolve();
      }
    };
    const onReady = () => settle();
    const onClose = () => settle(new Error('Redis closed the connection before it was ready.'));
    const timer = setTimeout(() => settle(new Error(`Redis was not ready within ${timeoutMs} ms.`)), timeoutMs);
    redis.on('ready', onReady);
    redis.on('close', onClose);
  });
}

/** Returns the URL with its password masked, for logs and error messages. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = '***';
    }
    return parsed.toString();
  } catch {
    return '(invalid Redis URL)';
  }
}

/**
 * Opens at most one connection per Redis URL and role and closes them all together. Both
 * queues share the connections when they are on the same server.
 */
export class RedisConnections {
  private readonly createRedis: CreateRedis;
  private readonly errors: ErrorLogThrottle;
  private readonly connections = new Map<string, Redis>();
  private readonly copies = new Set<Redis>();

  constructor(createRedis: CreateRedis, errors: ErrorLogThrottle) {
    this.createRedis = createRedis;
    this.errors = errors;
  }

  get(url: string, role: ConnectionRole): Redis {
    const key = `${role} ${url}`;
    const existing = this.connections.get(key);
    if (existing) {
      return existing;
    }

    const redis = this.createRedis(url, { ...optionsByRole[role], connectionName: `hookline:${role}` });
    this.watch(redis, url, role);
    if (role === 'worker') {
      // Each BullMQ worker copies this connection for its blocking commands. The copies are
      // kept too, so that close can end them when their worker could not.
      const duplicate = redis.duplicate.bind(redis);
      redis.duplicate = (override) => {
        const copy = duplicate(override);
        this.watch(copy, url, role);
        this.copies.add(copy);
        return copy;
      };
    }
    this.connections.set(key, redis);
    return redis;
  }

  /**
   * Closes every connection: QUIT when it is open, otherwise an immediate disconnect that
   * rejects the commands still queued on it.
   */
  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();

    await Promise.all(
      connections.map(async (redis) => {
        if (redis.status !== 'ready') {
          disconnectNow(redis);
          return;
        }
        try {
          await redis.quit();
        } catch {
          disconnectNow(redis);
        }
      }),
    );

    // Workers close their own copies. A copy still open belongs to a worker that got stuck
    // while Redis was unreachable.
    for (const copy of this.copies) {
      disconnectNow(copy);
    }
    this.copies.clear();
  }

  private watch(redis: Redis, url: string, role: ConnectionRole): void {
    // Without a listener ioredis prints every connection error to the console.
    redis.on('error', (error: unknown) => {
      this.errors.error({ redis: describeRedisUrl(url), role }, error, 'Redis connection failed, reconnecting');
    });
  }
}

/** Ends a connection at once and rejects the commands queued on it. */
function disconnectNow(redis: Redis): void {
  if (redis.status === 'end') {
    return;
  }
  if (redis.status === 'reconnecting') {
    // ioredis 5 leaves a client that is disconnected between two reconnect attempts waiting
    // forever, with its queued commands. Starting an attempt first makes the disconnect
    // abort it, which rejects the queued commands and ends the client.
    redis.connect().catch(() => undefined);
  }
  redis.disconnect();
}
