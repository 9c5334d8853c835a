import { MemoryMessageNotifier, type MessageNotifier } from '../cache/message-notifier.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import { ErrorLogThrottle } from '../queue/error-log-throttle.js';
import { redisUrls } from './open-queue.js';

/**
 * Opens the notifier that wakes pull API readers: in-process in the embedded mode, Redis
 * pub/sub in the scaled mode, so a message accepted by one API process reaches the
 * readers of every other. The Redis client is loaded only in the scaled mode.
 */
export async function openMessageNotifier(config: Readonly<Config>, logger: Logger, listen: boolean): Promise<MessageNotifier> {
  const urls = redisUrls(config);
  if (urls === undefined) {
    return new MemoryMessageNotifier();
  }

  const { RedisMessageNotifier } = await import('../cache/redis-message-notifier.js');
  // During an outage every accepted message fails to publish, so repeats are counted, not logged.
  const errors = new ErrorLogThrottle(logger.child({ component: 'message-notifier' }));
  return new RedisMessageNotifier({
    url: config.redisUrl ?? urls.events,
    channel: `${config.redisPrefix}:message-accepted`,
    listen,
    onError: (error, context) =>
      errors.error({ context }, error, 'Message notices over Redis failed; pull API readers check the store every few seconds until Redis is back'),
  });
}
