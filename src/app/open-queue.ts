import type { SharedState } from '../cache/contract.js';
import { MemoryState } from '../cache/memory-state.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import type { Queue, QueueName } from '../queue/contract.js';
import { EmbeddedQueue } from '../queue/embedded-queue.js';
import type { Store } from '../store/store.js';

export type Mode = 'embedded' | 'scaled';

/** Returns the Redis server of each queue, or undefined in the embedded mode. */
export function redisUrls(config: Readonly<Config>): Record<QueueName, string> | undefined {
  const events = config.eventsRedisUrl ?? config.redisUrl;
  const webhooks = config.webhooksRedisUrl ?? config.redisUrl;
  if (events === undefined || webhooks === undefined) {
    return undefined;
  }
  return { events, webhooks };
}

export function modeOf(config: Readonly<Config>): Mode {
  return redisUrls(config) === undefined ? 'embedded' : 'scaled';
}

/**
 * Opens the queue and the shared state of the configured mode: BullMQ and Redis when a
 * Redis URL is set, else the embedded queue in the store's database and memory. BullMQ
 * and the Redis client are loaded only in the scaled mode, which keeps them out of the
 * embedded process's memory. In the
 * scaled mode every Redis server is checked first, because a policy that evicts keys
 * would drop queued jobs.
 */
export async function openQueue(
  config: Readonly<Config>,
  store: Store,
  logger: Logger,
  clock: () => number,
): Promise<{ queue: Queue; state: SharedState }> {
  const urls = redisUrls(config);
  if (urls === undefined) {
    const queue = new EmbeddedQueue({
      db: store.db,
      leaseMs: config.queueLease,
      pollIntervalMs: config.queuePollInterval,
      logger: logger.child({ component: 'queue' }),
      now: clock,
      commit: (work) => store.groupCommit.run(work),
    });
    return { queue, state: new MemoryState(clock) };
  }

  const [{ BullmqQueue }, { RedisState }, { checkRedisPolicy }] = await Promise.all([
    import('../queue/bullmq-queue.js'),
    import('../cache/redis-state.js'),
    import('../queue/redis-policy.js'),
  ]);
  for (const url of new Set(Object.values(urls))) {
    await checkRedisPolicy(url);
  }
  const queue = new BullmqQueue({
    connections: urls,
    prefix: config.redisPrefix,
    db: store.db,
    lockDurationMs: config.queueLease,
    relay: { intervalMs: config.queuePollInterval },
    promotion: { intervalMs: config.queuePollInterval },
    logger: logger.child({ component: 'queue' }),
    now: clock,
  });
  const state = new RedisState({ url: config.redisUrl ?? urls.webhooks, prefix: `${config.redisPrefix}:state:` });
  state.connection.on('error', (error: Error) => logger.warn({ err: error }, 'Shared state connection to Redis failed; retrying'));
  return { queue, state };
}
