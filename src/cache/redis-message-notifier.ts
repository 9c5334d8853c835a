import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { MessageNotifier } from './message-notifier.js';

export interface RedisMessageNotifierOptions {
  url: string;
  /** Name of the pub/sub channel, such as `hookline:message-accepted`. */
  channel: string;
  /** Whether this process has readers to wake. Without any, only the publishing connection is opened. */
  listen: boolean;
  /** Receives connection and publish failures, for the caller to log. */
  onError(error: Error, context: 'publish' | 'subscriber' | 'publisher'): void;
}

/**
 * Notices over Redis pub/sub, for the scaled mode, where the API process that accepts a
 * message is often not the one holding the reader. Each process keeps one subscriber
 * connection and fans the notices out to its local listeners.
 */
export class RedisMessageNotifier implements MessageNotifier {
  readonly driver = 'redis';

  private readonly emitter = new EventEmitter();
  private readonly publisher: Redis;
  private readonly subscriber: Redis | undefined;

  constructor(private readonly options: RedisMessageNotifierOptions) {
    this.emitter.setMaxListeners(0);
    // A notice published before the connection is ready waits for it, but during an outage
    // it fails after one reconnection attempt: a lost notice only delays readers until their next check.
    this.publisher = new Redis(options.url, { maxRetriesPerRequest: 1 });
    this.publisher.on('error', (error: Error) => options.onError(error, 'publisher'));
    if (!options.listen) {
      return;
    }

    const subscriber = new Redis(options.url, { maxRetriesPerRequest: null });
    subscriber.on('error', (error: Error) => options.onError(error, 'subscriber'));
    // ioredis subscribes again by itself after a reconnect.
    subscriber.subscribe(options.channel).catch((error: unknown) => options.onError(toError(error), 'subscriber'));
    subscriber.on('message', (channel: string, appId: string) => {
      if (channel === options.channel) {
        this.emitter.emit(appId);
      }
    });
    this.subscriber = subscriber;
  }

  publish(appId: string): void {
    // Readers in this process wake at once, without the round trip through Redis.
    this.emitter.emit(appId);
    this.publisher.publish(this.options.channel, appId).catch((error: unknown) => this.options.onError(toError(error), 'publish'));
  }

  subscribe(appId: string, listener: () => void): () => void {
    this.emitter.on(appId, listener);
    return () => this.emitter.off(appId, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
    await Promise.all([closeConnection(this.publisher), this.subscriber ? closeConnection(this.subscriber) : undefined]);
  }
}

/** Quits politely when connected; while Redis is unreachable a QUIT would wait for the reconnect, so this disconnects at once. */
async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
