import { DelayedError, WaitingError, Worker, type IRedisTransaction, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Consumer, Job, JobHandler, JobOutcome, QueueName } from './contract.js';
import { fromBullmqId, keptFailedJobs, serializeData } from './bullmq-jobs.js';
import { throwFirstError } from './bullmq-job-writer.js';
import { defineScheduledCommands, encodeExtras, scheduledKeys, scheduleRetryCommand } from './bullmq-scheduled.js';
import { failureBackoffMs } from './embedded-consumer.js';
import type { ErrorLogThrottle } from './error-log-throttle.js';

/**
 * Takes back the attempt that claiming counted, if the caller still holds the job's lock.
 * KEYS[1] job lock, KEYS[2] job hash, ARGV[1] lock token.
 */
const uncountClaimScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('HINCRBY', KEYS[2], 'ats', -1)
  return 1
end
return 0
`;

export interface BullmqConsumerSettings {
  queue: QueueName;
  /** Worker connection, shared with the other workers on the same server. */
  connection: Redis;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  logger: Logger;
  /** Rate-limits BullMQ's `error` events, which repeat while Redis is unreachable. */
  errors: ErrorLogThrottle;
  now: () => number;
  /** Called once the consumer has closed, so the queue removes it from its consumers. */
  onClosed: () => void;
  /** Called with the run time of a retry written to the scheduled set. */
  onScheduled: (runAt: number) => void;
}

/** The parts of BullMQ 6's Redis backend that write a job's completion into a transaction. */
interface CompletionBackend {
  readonly client: Promise<{ multi(): IRedisTransaction }>;
  moveToCompletedArgs(job: BullJob, returnValue: string, removeOnComplete: boolean, token: string, fetchNext: boolean): unknown[];
  execCommand(transaction: IRedisTransaction, name: string, args: unknown[]): unknown;
}

interface RunningJob {
  id: string;
  controller: AbortController;
  /** Set once the handler has returned and its outcome is being written. */
  settling: boolean;
}

/**
 * Maximum time the worker gets after the close deadline to write the outcomes of handlers
 * that returned and to return aborted jobs, in milliseconds. It is also at most the lock
 * duration, because after that another worker may take the jobs anyway.
 */
const maxSettleGraceMs = 5_000;

/** Marks a handler that close aborted. */
const released = Symbol('released');

/**
 * Consumes one queue with a BullMQ worker.
 *
 * - A handler that returns nothing completes the job, and BullMQ deletes it.
 * - `{ retryAt }` in the future removes the job and writes it to the scheduled set (see
 *   bullmq-scheduled.ts) in one transaction, with its data and attempt counts, and the
 *   promoter brings it back under the same id when it is due. A `retryAt` that is due
 *   already moves the job to BullMQ's delayed set, which BullMQ promotes at once.
 * - A handler that throws fails the attempt. BullMQ retries the job after `failureBackoffMs`
 *   of its failed attempts (1 s, doubling, at most 60 s), with attempts in practice
 *   unlimited, so the job is never dropped.
 * - A job whose lock was not renewed for `lockDurationMs`, because its process died, is
 *   moved back to waiting by the stalled check of any worker of the queue. The stall limit
 *   is Number.MAX_SAFE_INTEGER, so such a job is not failed for stalling.
 */
export class BullmqConsumer<T> implements Consumer {
  private readonly settings: BullmqConsumerSettings;
  private readonly handler: JobHandler<T>;
  private readonly logger: Logger;
  private readonly worker: Worker<T>;
  private readonly running = new Set<RunningJob>();
  private closing: Promise<void> | undefined;

  constructor(settings: BullmqConsumerSettings, handler: JobHandler<T>) {
    this.settings = settings;
    this.handler = handler;
    this.logger = settings.logger.child({ queue: settings.queue });

    defineScheduledCommands(settings.connection);
    this.worker = new Worker<T>(settings.queue, (job, token) => this.process(job, token), {
      connection: settings.connection,
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: keptFailedJobs },
      // Every job names this strategy (see createBullJob). attemptsMade counts the failed
      // attempts including this one, and a retryAt outcome does not count as one.
      settings: { backoffStrategy: (attemptsMade) => failureBackoffMs(attemptsMade) },
    });
    this.listen();
    this.logger.info({ concurrency: settings.concurrency, lockDurationMs: settings.lockDurationMs }, 'Queue consumer started');
  }

  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.shutDown(timeoutMs);
    return this.closing;
  }

  private listen(): void {
    this.worker.on('failed', (job, error) => {
      if (!job) {
        this.logger.error({ err: error }, 'A job failed, and BullMQ did not name it');
      } else if (job.finishedOn) {
        this.logger.error({ err: error, jobId: jobIdOf(job), attempts: job.attemptsStarted }, 'Job failed for good and was moved to the failed jobs');
      } else {
        this.logger.error(
          { err: error, jobId: jobIdOf(job), attempts: job.attemptsStarted, backoffMs: job.delay },
          'Job handler failed, so the job runs again after the backoff',
        );
      }
    });
    this.worker.on('stalled', (bullmqId) => {
      this.logger.warn({ jobId: fromBullmqId(bullmqId) }, 'Job stalled because its process stopped renewing the lock, so the job returns to the queue');
    });
    this.worker.on('error', (error) => {
      this.settings.errors.error({ queue: this.settings.queue }, error, 'BullMQ worker reported an error');
    });
  }

  /** Runs the handler as BullMQ's processor and settles the job by the handler's outcome. */
  private async process(job: BullJob<T>, token: string | undefined): Promise<void> {
    if (token === undefined) {
      throw new Error(`BullMQ gave job ${job.id} to the processor without a lock token.`);
    }

    const run: RunningJob = { id: jobIdOf(job), controller: new AbortController(), settling: false };
    this.running.add(run);
    try {
      const outcome = await this.runHandler(job, run);
      if (outcome === released) {
        await this.release(job, token);
        // Tells BullMQ the job was moved already, so the worker leaves it alone.
        throw new WaitingError();
      }

      run.settling = true;
      if (outcome === undefined || outcome === null) {
        return;
      }

      const retryAt: unknown = outcome.retryAt;
      if (typeof retryAt !== 'number' || !Number.isFinite(retryAt)) {
        throw new TypeError(`Invalid job outcome: retryAt is ${String(retryAt)}. Expected milliseconds since the epoch.`);
      }
      if (retryAt > this.settings.now()) {
        await this.scheduleRetry(job, token, retryAt);
      } else {
        // retryAt is on the queue's clock, but BullMQ schedules on the real clock.
        await job.moveToDelayed(Date.now() + (retryAt - this.settings.now()), token);
      }
      // Tells BullMQ the job was moved already, so the worker leaves it alone.
      throw new DelayedError();
    } finally {
      this.running.delete(run);
    }
  }

  /** Resolves with the handler's outcome, or with `released` as soon as close aborts the run. */
  private runHandler(job: BullJob<T>, run: RunningJob): Promise<JobOutcome | typeof released> {
    const handlerJob: Job<T> = { id: run.id, queue: this.settings.queue, data: job.data, attempts: job.attemptsStarted };
    const handled = (async () => this.handler(handlerJob, run.controller.signal))();
    // After an abort the handler's promise is no longer awaited, so a late rejection needs a handler.
    handled.catch(() => undefined);

    const aborted = new Promise<typeof released>((resolve) => {
      run.controller.signal.addEventListener('abort', () => resolve(released), { once: true });
    });
    return Promise.race([handled, aborted]);
  }

  /**
   * Writes the job to the scheduled set and completes it, which deletes it from BullMQ, in
   * one transaction. Both steps check the lock token, so a worker that lost the job to the
   * stalled check changes nothing.
   */
  private async scheduleRetry(job: BullJob<T>, token: string, retryAt: number): Promise<void> {
    const bullmqId = job.id ?? '';
    const keys = scheduledKeys(this.worker);
    const extras = encodeExtras(this.settings.queue, bullmqId, {
      attemptsStarted: job.attemptsStarted,
      attemptsMade: job.attemptsMade,
      data: serializeData(job.data),
    });
    // NOTE: getBackend and moveToCompletedArgs are public in BullMQ 6 but not documented, so
    // an upgrade of BullMQ must keep the BullMQ queue tests passing.
    const backend = this.worker.getBackend() as unknown as CompletionBackend;
    const client = await backend.client;
    const transaction = client.multi();
    transaction.runCommand(scheduleRetryCommand, [`${this.worker.toKey(bullmqId)}:lock`, keys.members, keys.extras, token, bullmqId, String(Math.round(retryAt)), extras]);
    backend.execCommand(transaction, 'moveToFinished', backend.moveToCompletedArgs(job, 'null', true, token, false));

    const [scheduled, finished] = throwFirstError(await transaction.exec(), `schedule the retry of job ${jobIdOf(job)}`);
    if (scheduled !== 1) {
      this.logger.warn({ jobId: jobIdOf(job) }, 'Scheduling the retry of a job failed because the job lost its lock, so the job belongs to the worker that holds its lock now');
      return;
    }
    if (typeof finished === 'number' && finished < 0) {
      // The lock check passed, so BullMQ rejected the move for another reason and the job stays where it is.
      this.logger.error({ jobId: jobIdOf(job), code: finished }, 'Completing a job whose retry was scheduled failed, so the job may run once more before its retry');
      return;
    }
    this.settings.onScheduled(retryAt);
  }

  /** Returns an aborted job to the front of the waiting list without counting the attempt. */
  private async release(job: BullJob<T>, token: string): Promise<void> {
    const jobKey = this.worker.toKey(job.id ?? '');
    try {
      await this.settings.connection.eval(uncountClaimScript, 2, `${jobKey}:lock`, jobKey, token);
      await job.moveToWait(token);
    } catch (error) {
      this.logger.error({ err: error, jobId: jobIdOf(job) }, 'Returning an aborted job to the queue failed, so it runs again once its lock expires');
    }
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    // Stops fetching jobs and resolves once every processor has returned.
    const closed = this.worker.close().catch((error: unknown) => {
      this.logger.error({ err: error }, 'Closing the BullMQ worker failed');
    });

    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      deadline = setTimeout(() => resolve(true), timeoutMs);
    });
    const pastDeadline = await Promise.race([closed.then(() => false), timedOut]);
    clearTimeout(deadline);

    if (pastDeadline) {
      // A handler that has returned only waits for one Redis command, so only running ones are aborted.
      const unfinished = [...this.running].filter((run) => !run.settling);
      for (const run of unfinished) {
        run.controller.abort();
      }
      if (unfinished.length > 0) {
        this.logger.warn(
          { jobIds: unfinished.map((run) => run.id), timeoutMs },
          'Aborted the handlers still running at the close deadline and returned their jobs to the queue',
        );
      }
    }

    // Writing outcomes waits for Redis to come back when it is unreachable, so the wait is
    // bounded. The queue then cuts the connections, and jobs still locked run again once
    // their locks expire.
    const graceMs = Math.min(maxSettleGraceMs, this.settings.lockDurationMs);
    let grace: NodeJS.Timeout | undefined;
    const graceOver = new Promise<true>((resolve) => {
      grace = setTimeout(() => resolve(true), graceMs);
    });
    const stuck = await Promise.race([closed.then(() => false), graceOver]);
    clearTimeout(grace);
    if (stuck) {
      this.logger.warn(
        { jobIds: [...this.running].map((run) => run.id), graceMs },
        'BullMQ worker did not close in time after the deadline, so its jobs return to the queue once their locks expire',
      );
    }

    this.settings.onClosed();
    this.logger.info('Queue consumer closed');
  }
}

/** Returns the queue's id of a BullMQ job. */
function jobIdOf(job: BullJob): string {
  return fromBullmqId(job.id ?? '');
}
