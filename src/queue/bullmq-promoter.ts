import type { Queue as BullQueue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createBullJob, fromBullmqId } from './bullmq-jobs.js';
import { throwFirstError } from './bullmq-job-writer.js';
import {
  decodeExtras,
  defineScheduledCommands,
  finishPromotionCommand,
  guardPromotionCommand,
  queueUnschedule,
  readDueCommand,
  runScript,
  scheduledKeys,
  type ScheduledExtras,
  type ScheduledKeys,
} from './bullmq-scheduled.js';
import type { ErrorLogThrottle } from './error-log-throttle.js';
import { whenConnected } from './redis-connections.js';

export interface ScheduledPromoterSettings {
  /** BullMQ queue on the producer connection. */
  queue: BullQueue;
  /** The producer connection under `queue`. */
  redis: Redis;
  now: () => number;
  /**
   * Maximum time between two looks at the scheduled set, in milliseconds. Members that this
   * process writes wake the promoter at their run time. This bounds how late a member that
   * another process wrote is promoted while no promoter of that process runs.
   */
  intervalMs: number;
  /** Members moved per Redis transaction. */
  batchSize: number;
  logger: Logger;
  errors: ErrorLogThrottle;
}

/** Outcome of one promotion batch. */
export interface PromotionResult {
  /** Due members read. */
  read: number;
  /** Members turned into BullMQ jobs and removed. */
  promoted: number;
  /** Members left in place because a BullMQ job with their id exists. */
  kept: number;
}

/**
 * Moves due members of the scheduled set (see bullmq-scheduled.ts) into BullMQ as waiting
 * jobs with the same id, earliest first, in batches.
 *
 * Each batch is one MULTI transaction: for every member a guard script, BullMQ's addJob
 * and a finish script that removes the member only if addJob created the job. Redis runs
 * the transaction whole or not at all, so a process that dies mid-batch loses no job.
 * Several promoters may run at once: a member that another promoter moved, or that an add
 * replaced or removed since it was read, makes the guard turn the stale addJob into a
 * no-op. A member whose id already has a BullMQ job stays until that job has ended, and is
 * promoted then.
 */
export class ScheduledPromoter {
  private readonly settings: ScheduledPromoterSettings;
  private readonly keys: ScheduledKeys;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires, on the queue's clock. */
  private timerAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  /** Earliest run time that `wake` reported while a pass was running. */
  private wokenFor = Number.POSITIVE_INFINITY;
  private started = false;
  private closed = false;

  constructor(settings: ScheduledPromoterSettings) {
    this.settings = settings;
    this.keys = scheduledKeys(settings.queue);
    defineScheduledCommands(settings.redis);
  }

  /** Starts promoting. Calling it again does nothing. */
  start(): void {
    if (this.started || this.closed) {
      return;
    }
    this.started = true;
    this.schedule(0);
  }

  /** Tells the promoter that this process scheduled a job to run at `runAt`. */
  wake(runAt: number): void {
    if (!this.started || this.closed) {
      return;
    }
    if (this.running) {
      this.wokenFor = Math.min(this.wokenFor, runAt);
      return;
    }
    if (runAt < this.timerAt) {
      this.schedule(runAt - this.settings.now());
    }
  }

  /** Stops promoting after the batch in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Promotes one batch of members due now. */
  async promoteDue(): Promise<PromotionResult> {
    const { queue, redis, batchSize } = this.settings;
    await whenConnected(redis);
    const now = this.settings.now();
    const flat = (await runScript(redis, readDueCommand, [this.keys.members, this.keys.extras, String(now), String(batchSize)])) as string[];
    const read = flat.length / 3;
    if (read === 0) {
      return { read, promoted: 0, kept: 0 };
    }

    const client = await queue.getBackend().client;
    const transaction = client.multi() as ReturnType<typeof client.multi> & Pick<ChainableCommander, 'zrem' | 'hdel'>;
    // The finish script compares this with the timestamp of the job to tell a job that addJob
    // created from one that existed before.
    const timestamp = Date.now();
    const finishPositions: number[] = [];
    let commands = 0;
    for (let index = 0; index < flat.length; index += 3) {
      const bullmqId = flat[index] as string;
      const score = flat[index + 1] as string;
      const text = flat[index + 2] as string;
      let extras: ScheduledExtras;
      try {
        extras = decodeExtras(queue.name, bullmqId, text);
      } catch (error) {
        // Only another program can have written such a field, and it would fail every pass.
        this.settings.logger.error({ err: error, jobId: fromBullmqId(bullmqId), extras: text }, 'Dropped a scheduled job whose stored data is invalid');
        queueUnschedule(transaction, this.keys, bullmqId);
        commands += 2;
        continue;
      }
      const jobKey = queue.toKey(bullmqId);
      const job = { id: fromBullmqId(bullmqId), data: JSON.parse(extras.data) as unknown, runAt: Number(score) };

      transaction.runCommand(guardPromotionCommand, [jobKey, this.keys.members, this.keys.extras, bullmqId, score, text]);
      await createBullJob(queue, job, now, timestamp).addJob(transaction);
      transaction.runCommand(finishPromotionCommand, [
        jobKey,
        this.keys.members,
        this.keys.extras,
        bullmqId,
        String(timestamp),
        String(extras.attemptsStarted),
        String(extras.attemptsMade),
      ]);
      finishPositions.push(commands + 2);
      commands += 3;
    }

    const replies = throwFirstError(await transaction.exec(), `promote ${read} scheduled jobs of queue ${queue.name}`);
    let promoted = 0;
    let kept = 0;
    for (const position of finishPositions) {
      const outcome = replies[position];
      if (outcome === 'promoted') {
        promoted += 1;
      } else if (outcome === 'duplicate') {
        kept += 1;
      }
    }
    if (kept > 0) {
      this.settings.logger.debug({ queue: queue.name, kept }, 'Scheduled jobs are due but their ids have jobs already, so they stay until those jobs end');
    }
    return { read, promoted, kept };
  }

  /** Returns the earliest run time after now in the scheduled set, or null when there is none. */
  async nextRunAt(): Promise<number | null> {
    await whenConnected(this.settings.redis);
    const [, score] = await this.settings.redis.zrangebyscore(this.keys.members, `(${this.settings.now()}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    return score === undefined ? null : Number(score);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) {
      return;
    }
    const boundedMs = Math.min(Math.max(0, delayMs), this.settings.intervalMs);
    this.timerAt = this.settings.now() + boundedMs;
    this.timer = setTimeout(() => this.run(), boundedMs);
  }

  private run(): void {
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.closed) {
      return;
    }
    if (this.running) {
      return;
    }

    this.running = this.pass()
      .then((delayMs) => {
        const wokenInMs = this.wokenFor - this.settings.now() + 1;
        this.wokenFor = Number.POSITIVE_INFINITY;
        this.schedule(Math.min(delayMs, wokenInMs));
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Promotes every due member, then returns how long to wait before the next pass. Never rejects. */
  private async pass(): Promise<number> {
    try {
      let result: PromotionResult;
      do {
        result = await this.promoteDue();
      } while (!this.closed && result.read === this.settings.batchSize && result.promoted > 0);

      const next = await this.nextRunAt();
      // Timers may fire up to a millisecond before the clock shows the run time.
      return next === null ? this.settings.intervalMs : next - this.settings.now() + 1;
    } catch (error) {
      this.settings.errors.error({ queue: this.settings.queue.name }, error, 'Promoting due scheduled jobs failed, so the promoter retries after its interval');
      return this.settings.intervalMs;
    }
  }
}
