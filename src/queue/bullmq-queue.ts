import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Consumer, ConsumerOptions, JobHandler, JobToAdd, Queue, QueueCounts, QueueName } from './contract.js';
import { BullmqConsumer } from './bullmq-consumer.js';
import { BullmqJobWriter } from './bullmq-job-writer.js';
import { toQueuedJobs } from './bullmq-jobs.js';
import { ScheduledPromoter } from './bullmq-promoter.js';
import { DeferredReplacements } from './bullmq-replacements.js';
import { ErrorLogThrottle } from './error-log-throttle.js';
import { insertOutboxRows, OutboxRelay } from './outbox-relay.js';
import { RedisConnections, type CreateRedis } from './redis-connections.js';
import type { Database } from '../store/schema.js';

export interface OutboxRelayOptions {
  /** Outbox rows moved to Redis per database transaction. Default 500. */
  batchSize?: number;
  /**
   * Time between two looks at the outbox when nothing woke the relay, in milliseconds.
   * `notify` wakes the relay of this process at once, so this bounds how late a job is that
   * another process committed without a relay of its own running. Replacements of jobs
   * whose run has ended are written on the same interval. Default 1,000.
   */
  intervalMs?: number;
  /** Maximum wait between retries while Redis is unreachable, in milliseconds. Default 10,000. */
  maxBackoffMs?: number;
}

export interface PromotionOptions {
  /**
   * Maximum time between two looks at the scheduled set, in milliseconds. Jobs that this
   * process schedules wake its promoter at their run time, so this bounds how late a job is
   * that another process scheduled while no promoter of that process runs. Default 1,000.
   */
  intervalMs?: number;
  /** Scheduled jobs moved to BullMQ per Redis transaction. Default 500. */
  batchSize?: number;
}

export interface BullmqQueueOptions {
  /**
   * Redis URL of each queue's server. Both may name the same server, and the queues then
   * share its connections. Check each server with `checkRedisPolicy` at start-up.
   */
  connections: Record<QueueName, string>;
  /** Prefix of every Redis key the queues write. Default `hookline`. */
  prefix?: string;
  /** The store's database, for the outbox. The queue uses it but does not close it. */
  db: Kysely<Database>;
  /**
   * How long a running job stays locked to its worker, in milliseconds. Workers renew the
   * lock at half this time while the handler runs. Must be longer than the longest handler
   * step that blocks the event loop, and should exceed the delivery request timeout, so that
   * an attempt is never sent twice at once.
   */
  lockDurationMs: number;
  /**
   * How often workers look for jobs whose lock expired, in milliseconds. A job of a process
   * that died runs again within about `lockDurationMs` plus twice this. Default: the lock
   * duration, at most 30,000.
   */
  stalledIntervalMs?: number;
  logger: Logger;
  /** Clock in milliseconds since the epoch, for run times. Defaults to `Date.now`. BullMQ still waits in real time. */
  now?: () => number;
  relay?: OutboxRelayOptions;
  /** Promotion of scheduled jobs, which runs in every process that consumes a queue. */
  promotion?: PromotionOptions;
  /** Opens a Redis connection. Defaults to `new Redis(url, options)`. Pass one to add TLS or other client options. */
  createRedis?: CreateRedis;
}

/** Maximum delay that setTimeout accepts, in milliseconds. */
const maxTimerMs = 2 ** 31 - 1;

function validateDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0 || value > maxTimerMs) {
    throw new RangeError(`Invalid ${name}: ${value}. Expected a positive number of milliseconds up to ${maxTimerMs}.`);
  }
}

const queueNames: readonly QueueName[] = ['events', 'webhooks'];

interface QueueSide {
  url: string;
  bull: BullQueue;
  writer: BullmqJobWriter;
  replacements: DeferredReplacements;
  promoter: ScheduledPromoter;
}

/**
 * The queue driver on BullMQ and Redis, for the scaled mode. Jobs added inside a store
 * transaction go through the outbox table and a relay (see OutboxRelay), so the API keeps
 * accepting messages while Redis is unreachable.
 *
 * Jobs due later wait in a compact sorted set per queue instead of BullMQ's delayed set,
 * and a promoter in every consuming process moves them into BullMQ when they are due (see
 * bullmq-scheduled.ts and ScheduledPromoter). A job that BullMQ delays after a handler
 * throws stays in BullMQ's delayed set.
 *
 * Differences from the embedded driver:
 * - A job replaced while it runs keeps running; its new version is written once the run
 *   ends and overrides what the run decided. The embedded driver makes the new version
 *   claimable at once, even beside the old run.
 * - An add whose data equals that of the running job changes nothing.
 * - Due jobs start in the order they were added to Redis; one add call adds its jobs in
 *   run-time order.
 */
export class BullmqQueue implements Queue {
  readonly driver = 'bullmq';

  private readonly options: BullmqQueueOptions;
  private readonly prefix: string;
  private readonly stalledIntervalMs: number;
  private readonly promotionIntervalMs: number;
  private readonly promotionBatchSize: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly errors: ErrorLogThrottle;
  private readonly connections: RedisConnections;
  private readonly sides: Record<QueueName, QueueSide>;
  private readonly relay: OutboxRelay;
  private readonly maintenance: NodeJS.Timeout;
  private maintaining: Promise<void> | undefined;
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  constructor(options: BullmqQueueOptions) {
    validateDuration('lockDurationMs', options.lockDurationMs);
    const stalledIntervalMs = options.stalledIntervalMs ?? Math.min(options.lockDurationMs, 30_000);
    validateDuration('stalledIntervalMs', stalledIntervalMs);
    const relayIntervalMs = options.relay?.intervalMs ?? 1_000;
    validateDuration('relay.intervalMs', relayIntervalMs);
    const maxBackoffMs = options.relay?.maxBackoffMs ?? 10_000;
    validateDuration('relay.maxBackoffMs', maxBackoffMs);
    const batchSize = options.relay?.batchSize ?? 500;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`Invalid relay.batchSize: ${batchSize}. Expected a positive integer.`);
    }
    const promotionIntervalMs = options.promotion?.intervalMs ?? 1_000;
    validateDuration('promotion.intervalMs', promotionIntervalMs);
    const promotionBatchSize = options.promotion?.batchSize ?? 500;
    if (!Number.isInteger(promotionBatchSize) || promotionBatchSize < 1) {
      throw new RangeError(`Invalid promotion.batchSize: ${promotionBatchSize}. Expected a positive integer.`);
    }

    this.options = options;
    this.prefix = options.prefix ?? 'hookline';
    this.stalledIntervalMs = stalledIntervalMs;
    this.promotionIntervalMs = promotionIntervalMs;
    this.promotionBatchSize = promotionBatchSize;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.errors = new ErrorLogThrottle(options.logger);
    this.connections = new RedisConnections(options.createRedis ?? ((url, redisOptions) => new Redis(url, redisOptions)), this.errors);

    this.sides = { events: this.openSide('events'), webhooks: this.openSide('webhooks') };

    this.relay = new OutboxRelay({
      db: options.db,
      publish: (queue, jobs) => this.sides[queue].writer.add(jobs),
      batchSize,
      intervalMs: relayIntervalMs,
      maxBackoffMs,
      logger: options.logger.child({ component: 'outbox-relay' }),
    });
    this.relay.start();
    this.maintenance = setInterval(() => this.writeReplacements(), relayIntervalMs);
  }

  /**
   * Adds or replaces jobs by id. A waiting or delayed job is replaced at once. A running job
   * keeps running, and the new version is written once the run ends, unless it has the
   * running job's data, in which case the add changes nothing.
   */
  async add<T>(queue: QueueName, jobs: JobToAdd<T>[]): Promise<void> {
    this.ensureOpen(queue);
    const queued = toQueuedJobs(jobs, this.now());
    if (queued.length === 0) {
      return;
    }
    await this.sides[queue].writer.add(queued);
  }

  /**
   * Adds jobs whose id has no job, waiting, delayed or running, and no replacement waiting
   * for a run to end. Ids that have one are left as they are.
   */
  async ensure<T>(queue: QueueName, jobs: JobToAdd<T>[]): Promise<number> {
    this.ensureOpen(queue);
    const queued = toQueuedJobs(jobs, this.now());
    if (queued.length === 0) {
      return 0;
    }
    return this.sides[queue].writer.ensure(queued);
  }

  /** Writes outbox rows through `transaction`. Call notify after the commit to relay them at once. */
  async addInTransaction<T>(transaction: Transaction<Database>, queue: QueueName, jobs: JobToAdd<T>[]): Promise<void> {
    const queued = toQueuedJobs(jobs, this.now());
    if (queued.length === 0) {
      return;
    }
    await insertOutboxRows(transaction, queue, queued, this.now());
  }

  /** Wakes the outbox relay of this process. BullMQ wakes the workers once the jobs reach Redis. */
  notify(_queue: QueueName): void {
    this.relay.wake();
  }

  consume<T>(queue: QueueName, handler: JobHandler<T>, options: ConsumerOptions): Consumer {
    this.ensureOpen(queue);
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`Invalid concurrency for queue ${queue}: ${options.concurrency}. Expected a positive integer.`);
    }

    const side = this.sides[queue];
    side.promoter.start();
    const consumer: BullmqConsumer<T> = new BullmqConsumer<T>(
      {
        queue,
        connection: this.connections.get(side.url, 'worker'),
        prefix: this.prefix,
        concurrency: options.concurrency,
        lockDurationMs: this.options.lockDurationMs,
        stalledIntervalMs: this.stalledIntervalMs,
        logger: this.logger,
        errors: this.errors,
        now: this.now,
        onClosed: () => this.consumers.delete(consumer),
        onScheduled: (runAt) => side.promoter.wake(runAt),
      },
      handler,
    );
    this.consumers.add(consumer);
    return consumer;
  }

  counts(queue: QueueName): Promise<QueueCounts> {
    return this.sides[queue].writer.counts();
  }

  oldestWaitingDueAt(queue: QueueName): Promise<number | null> {
    return this.sides[queue].writer.oldestWaitingDueAt();
  }

  /** Removes a waiting or delayed job and any replacement waiting for it. A running job is neither interrupted nor removed. */
  async remove(queue: QueueName, id: string): Promise<void> {
    await this.sides[queue].writer.remove(id);
  }

  /**
   * Stops the relay, closes every consumer (see Consumer.close), stops the promoters, then
   * closes the queues and their Redis connections. Outbox rows not yet relayed stay for the
   * next process, and scheduled jobs for the promoters of other processes.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearInterval(this.maintenance);

    await this.relay.close();
    await this.maintaining;
    await Promise.all([...this.consumers].map((consumer) => consumer.close(timeoutMs)));
    for (const side of Object.values(this.sides)) {
      await side.promoter.close();
      await side.replacements.close();
      await side.bull.close();
    }
    await this.connections.close();
  }

  private openSide(queue: QueueName): QueueSide {
    const url = this.options.connections[queue];
    const redis = this.connections.get(url, 'producer');
    const bull = new BullQueue(queue, {
      connection: redis,
      prefix: this.prefix,
      // Events the workers append to the queue's Redis stream. Hookline does not read them,
      // so a short stream saves memory.
      streams: { events: { maxLen: 1_000 } },
    });
    bull.on('error', (error) => {
      this.errors.error({ queue }, error, 'BullMQ queue reported an error');
    });

    const logger = this.logger.child({ queue });
    const promoter = new ScheduledPromoter({
      queue: bull,
      redis,
      now: this.now,
      intervalMs: this.promotionIntervalMs,
      batchSize: this.promotionBatchSize,
      logger,
      errors: this.errors,
    });
    const onScheduled = (runAt: number) => promoter.wake(runAt);
    return {
      url,
      bull,
      writer: new BullmqJobWriter({ queue: bull, redis, now: this.now, logger, onScheduled }),
      replacements: new DeferredReplacements({
        queue: bull,
        redis,
        openTransactions: () => this.connections.get(url, 'transactions'),
        prefix: this.prefix,
        now: this.now,
        logger,
        onScheduled,
      }),
      promoter,
    };
  }

  /** Writes the replacements of jobs whose run has ended, one pass at a time. */
  private writeReplacements(): void {
    if (this.maintaining || this.closed) {
      return;
    }

    this.maintaining = (async () => {
      for (const [queue, side] of Object.entries(this.sides)) {
        try {
          await side.replacements.apply();
        } catch (error) {
          this.errors.error({ queue }, error, 'Writing replacements of finished jobs failed, so the next pass retries');
        }
      }
    })().finally(() => {
      this.maintaining = undefined;
    });
  }

  private ensureOpen(queue: QueueName): void {
    if (this.closed) {
      throw new Error(`Cannot use queue ${queue}: the BullMQ queue is closed.`);
    }
    if (!queueNames.includes(queue)) {
      throw new TypeError(`Unknown queue ${JSON.stringify(queue)}. Expected one of ${queueNames.join(', ')}.`);
    }
  }
}
