import { Queue as BullQueue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { throwFirstError } from './bullmq-job-writer.js';
import { createBullJob, fromBullmqId, queueRemoveJob, replacementsKey, type StoredReplacement } from './bullmq-jobs.js';
import { defineScheduledCommands, extrasOfNewJob, queueSchedule, queueUnschedule, scheduledKeys, type ScheduledKeys } from './bullmq-scheduled.js';

export interface DeferredReplacementsSettings {
  /** BullMQ queue on the producer connection, for the cheap look-up of waiting replacements. */
  queue: BullQueue;
  /** The producer connection under `queue`. */
  redis: Redis;
  /** Opens the connection of its own that WATCH needs. Called once, when there is work. */
  openTransactions: () => Redis;
  prefix: string;
  now: () => number;
  logger: Logger;
  /** Called with the run time of a replacement written to the scheduled set. */
  onScheduled: (runAt: number) => void;
}

/**
 * Writes the replacements of jobs that were running when they were replaced, once the run
 * has ended. Every process with a BullMQ queue runs this on the relay interval, so a
 * replacement is written at most about one interval after its run ends.
 *
 * Each replacement is written under WATCH of the replacements hash, the job and its lock.
 * Redis discards the transaction when a worker claims the job, an add changes the
 * replacement, or another process writes it first, and the next pass looks again. So no
 * replacement is written twice, and none is written over a run that has started since.
 * A replacement due later goes to the scheduled set, and one due now to BullMQ. Either
 * way it takes the place of the member that the run's retryAt outcome wrote, if any.
 */
export class DeferredReplacements {
  private readonly settings: DeferredReplacementsSettings;
  private readonly key: string;
  private readonly scheduled: ScheduledKeys;
  private transactionQueue: { queue: BullQueue; redis: Redis } | undefined;

  constructor(settings: DeferredReplacementsSettings) {
    this.settings = settings;
    this.key = replacementsKey(settings.queue);
    this.scheduled = scheduledKeys(settings.queue);
  }

  /** Writes every replacement whose job is no longer running. Returns how many were written. */
  async apply(): Promise<number> {
    if (this.settings.redis.status !== 'ready') {
      return 0;
    }
    const bullmqIds = await this.settings.redis.hkeys(this.key);
    if (bullmqIds.length === 0) {
      return 0;
    }

    const { queue, redis } = this.openTransactionQueue();
    if (redis.status !== 'ready') {
      // The connection was just opened or is reconnecting, so the next pass tries again.
      return 0;
    }
    let written = 0;
    for (const bullmqId of bullmqIds) {
      if (await this.applyOne(queue, redis, bullmqId)) {
        written += 1;
      }
    }
    return written;
  }

  async close(): Promise<void> {
    await this.transactionQueue?.queue.close();
  }

  private async applyOne(queue: BullQueue, redis: Redis, bullmqId: string): Promise<boolean> {
    const id = fromBullmqId(bullmqId);
    const jobKey = queue.toKey(bullmqId);
    const lockKey = `${jobKey}:lock`;

    await redis.watch(this.key, jobKey, lockKey);
    try {
      const [stored, locked, exists] = throwFirstError(
        await redis.pipeline().hget(this.key, bullmqId).exists(lockKey).exists(jobKey).exec(),
        `read the replacement of job ${id}`,
      );
      if (typeof stored !== 'string' || locked === 1) {
        await redis.unwatch();
        return false;
      }

      const replacement = JSON.parse(stored) as StoredReplacement;
      const client = await queue.getBackend().client;
      const transaction = client.multi() as ReturnType<typeof client.multi> & Pick<ChainableCommander, 'hdel' | 'zrem'>;
      transaction.hdel(this.key, bullmqId);
      if (exists === 1) {
        queueRemoveJob(queue, transaction, bullmqId);
      }
      const job = { id, data: JSON.parse(replacement.data) as unknown, runAt: replacement.runAt };
      const now = this.settings.now();
      const scheduled = job.runAt > now;
      if (scheduled) {
        queueSchedule(transaction, queue, this.scheduled, job, extrasOfNewJob(queue.name, job), 'replace');
      } else {
        queueUnschedule(transaction, this.scheduled, bullmqId);
        await createBullJob(queue, job, now).addJob(transaction);
      }

      const results = await transaction.exec();
      if (results === null) {
        return false;
      }
      throwFirstError(results, `write the replacement of job ${id}`);
      if (scheduled) {
        this.settings.onScheduled(job.runAt);
      }
      this.settings.logger.debug({ jobId: id, runAt: replacement.runAt }, 'Wrote the replacement of a job whose run has ended');
      return true;
    } catch (error) {
      await redis.unwatch().catch(() => undefined);
      throw error;
    }
  }

  /** Returns a BullMQ queue on the WATCH connection, so BullMQ's scripts are defined there too. */
  private openTransactionQueue(): { queue: BullQueue; redis: Redis } {
    if (!this.transactionQueue) {
      const redis = this.settings.openTransactions();
      defineScheduledCommands(redis);
      const queue = new BullQueue(this.settings.queue.name, { connection: redis, prefix: this.settings.prefix });
      queue.on('error', () => {
        // The connection logs its own errors, and failed commands reject in applyOne.
      });
      this.transactionQueue = { queue, redis };
    }
    return this.transactionQueue;
  }
}
