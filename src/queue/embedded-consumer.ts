import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Consumer, Job, JobHandler, JobOutcome, QueueName } from './contract.js';
import {
  claimDueJobs,
  deleteClaimedJobs,
  extendLeases,
  findNextRunAt,
  releaseClaimedJobs,
  rescheduleClaimedJob,
  type ClaimScope,
  type ClaimedRow,
} from './embedded-store.js';
import type { TransactionWork } from '../store/group-commit.js';
import type { Database } from '../store/schema.js';

const firstBackoffMs = 1_000;
const maxBackoffMs = 60_000;

/**
 * Returns the delay before a job whose handler threw runs again: 1 s after the first
 * attempt, doubling with each attempt, at most 60 s.
 */
export function failureBackoffMs(attempts: number): number {
  const doublings = Math.max(0, attempts - 1);
  return Math.min(maxBackoffMs, firstBackoffMs * 2 ** doublings);
}

export interface EmbeddedConsumerSettings {
  db: Kysely<Database>;
  /** Runs writes in a transaction. Claims and completions go through it, so they share a commit with other writes. */
  commit: <R>(work: TransactionWork<R>) => Promise<R>;
  queue: QueueName;
  owner: string;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  logger: Logger;
  now: () => number;
  /** Called once the consumer has closed, so the queue removes it from its consumers. */
  onClosed: () => void;
}

interface RunningJob {
  id: string;
  version: number;
  controller: AbortController;
  /** Set once the handler has returned or thrown and the outcome is being written. */
  settling: boolean;
  /** Set when close returned the job to the queue, so a late outcome is ignored. */
  released: boolean;
  finished: Promise<void>;
}

/**
 * Consumes one queue of the embedded driver. It claims due jobs in batches as large as its
 * free handler slots, sleeps until the next known run time (at most the poll interval),
 * and wakes early when this process adds jobs to the queue.
 */
export class EmbeddedConsumer<T> implements Consumer {
  private readonly settings: EmbeddedConsumerSettings;
  private readonly handler: JobHandler<T>;
  private readonly scope: ClaimScope;
  private readonly logger: Logger;
  private readonly running = new Set<RunningJob>();
  /** Slots promised to jobs being written already claimed (see reserve). */
  private reserved = 0;
  /**
   * False once a claim found fewer due jobs than it had slots for. Until something wakes the
   * consumer, finished handlers then free their slots without a claim that would find nothing.
   */
  private mayHaveDueJobs = true;

  private pumpScheduled = false;
  private microtaskPumpScheduled = false;
  private pumpAgain = false;
  private currentPump: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly heartbeat: NodeJS.Timeout;
  private extending = false;
  private closing: Promise<void> | undefined;

  constructor(settings: EmbeddedConsumerSettings, handler: JobHandler<T>) {
    this.settings = settings;
    this.handler = handler;
    this.scope = { queue: settings.queue, owner: settings.owner };
    this.logger = settings.logger.child({ queue: settings.queue });

    // Three renewals per lease, so one late timer does not let the lease lapse.
    this.heartbeat = setInterval(() => void this.extendRunningLeases(), Math.max(1, Math.floor(settings.leaseMs / 3)));
    this.logger.info({ concurrency: settings.concurrency, owner: settings.owner }, 'Queue consumer started');
    this.requestPump();
  }

  /**
   * Makes sure the consumer looks for due jobs no later than `runAt`. `soon` claims jobs that
   * are due now within the current task instead of on the next turn (see requestPump).
   */
  wake(runAt: number, soon = false): void {
    if (this.closing) {
      return;
    }

    if (runAt <= this.settings.now()) {
      this.requestPump(soon);
    } else {
      this.wakeNoLaterThan(runAt);
    }
  }

  /**
   * Takes a free handler slot for a job that its adder writes already claimed by this
   * consumer. Returns false when no slot is free or the consumer is closing. Each true
   * must be followed by exactly one startReserved or cancelReservation.
   */
  reserve(): boolean {
    if (this.closing || this.running.size + this.reserved >= this.settings.concurrency) {
      return false;
    }
    this.reserved += 1;
    return true;
  }

  /** Gives back a slot taken by reserve, because its job was not written. */
  cancelReservation(): void {
    this.reserved = Math.max(0, this.reserved - 1);
  }

  /**
   * Starts a job whose claim its adder wrote and committed, in the slot taken by reserve.
   * A closing consumer returns the job to the queue instead.
   */
  startReserved(row: ClaimedRow, local: unknown): void {
    this.cancelReservation();
    if (this.closing) {
      void this.releaseUnstarted(row);
      return;
    }
    this.start(row, local);
  }

  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.shutDown(timeoutMs);
    return this.closing;
  }

  /**
   * Claims due jobs soon. By default the claim waits for the next turn of the event loop, so
   * that handlers finishing together and several add calls share one claim statement. With
   * `soon`, it runs once the current task's promise callbacks are done: for jobs committed
   * by a group commit, which already gathered the writes of a turn.
   */
  private requestPump(soon = false): void {
    if (this.closing) {
      return;
    }

    if (soon) {
      if (!this.microtaskPumpScheduled) {
        this.microtaskPumpScheduled = true;
        queueMicrotask(() => {
          this.microtaskPumpScheduled = false;
          this.startPump();
        });
      }
      return;
    }

    if (this.pumpScheduled) {
      return;
    }
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.startPump();
    });
  }

  private startPump(): void {
    if (this.currentPump) {
      this.pumpAgain = true;
      return;
    }
    this.currentPump = this.pump().finally(() => {
      this.currentPump = undefined;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.requestPump();
      }
    });
  }

  private wakeNoLaterThan(time: number): void {
    if (this.closing || time >= this.timerAt) {
      return;
    }

    clearTimeout(this.timer);
    this.timerAt = time;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.requestPump();
    }, Math.max(0, time - this.settings.now()));
  }

  /** Claims as many due jobs as there are free slots and starts their handlers. */
  private async pump(): Promise<void> {
    const free = this.settings.concurrency - this.running.size - this.reserved;
    if (this.closing) {
      return;
    }
    if (free <= 0) {
      // Woken with every slot taken: the next finished handler claims what is due.
      this.mayHaveDueJobs = true;
      return;
    }

    try {
      const now = this.settings.now();
      // The claim shares a transaction with the other writes of this turn, because on SQLite a
      // commit costs more than the claim statement itself.
      const claimed = await this.settings.commit((transaction) =>
        claimDueJobs(transaction, this.scope, { limit: free, leaseMs: this.settings.leaseMs, now }),
      );
      for (const row of claimed) {
        this.start(row);
      }

      // A full batch means more jobs may be due, and the next finished handler pumps again.
      this.mayHaveDueJobs = claimed.length >= free;
      if (claimed.length < free) {
        const nextRunAt = await findNextRunAt(this.settings.db, this.settings.queue, now);
        this.wakeNoLaterThan(Math.min(nextRunAt ?? Number.POSITIVE_INFINITY, now + this.settings.pollIntervalMs));
      }
    } catch (error) {
      this.mayHaveDueJobs = true;
      this.logger.error({ err: error }, 'Claiming jobs failed, retrying after the poll interval');
      this.wakeNoLaterThan(this.settings.now() + this.settings.pollIntervalMs);
    }
  }

  private start(row: ClaimedRow, local?: unknown): void {
    const job: RunningJob = {
      id: row.id,
      version: row.version,
      controller: new AbortController(),
      settling: false,
      released: false,
      finished: Promise.resolve(),
    };
    this.running.add(job);
    job.finished = this.run(job, row, local).finally(() => {
      this.running.delete(job);
      if (this.mayHaveDueJobs) {
        this.requestPump();
      }
    });
  }

  /** Runs the handler and settles the job by its outcome. Never rejects. */
  private async run(job: RunningJob, row: ClaimedRow, local: unknown): Promise<void> {
    let outcome: JobOutcome;
    try {
      const data = JSON.parse(row.data) as T;
      const handlerJob: Job<T> = { id: row.id, queue: this.settings.queue, data, attempts: row.attempts, ...(local === undefined ? {} : { local }) };
      outcome = await this.handler(handlerJob, job.controller.signal);
    } catch (error) {
      if (!job.released) {
        job.settling = true;
        await this.retryAfterFailure(job, row.attempts, error);
      }
      return;
    }

    if (job.released) {
      return;
    }

    job.settling = true;
    if (outcome === undefined || outcome === null) {
      await this.complete(job);
      return;
    }

    const retryAt: unknown = outcome.retryAt;
    if (typeof retryAt !== 'number' || !Number.isFinite(retryAt)) {
      const error = new TypeError(`Invalid job outcome: retryAt is ${String(retryAt)}. Expected milliseconds since the epoch.`);
      await this.retryAfterFailure(job, row.attempts, error);
      return;
    }
    await this.reschedule(job, retryAt);
  }

  /** Deletes a completed job in the transaction of the writes submitted in the same turn. */
  private async complete(job: RunningJob): Promise<void> {
    try {
      await this.settings.commit((transaction) => deleteClaimedJobs(transaction, this.scope, [job]));
    } catch (error) {
      this.logger.error({ err: error, jobId: job.id }, 'Deleting a completed job failed, so it runs again after its lease ends');
    }
  }

  private async retryAfterFailure(job: RunningJob, attempts: number, error: unknown): Promise<void> {
    const backoffMs = failureBackoffMs(attempts);
    this.logger.error({ err: error, jobId: job.id, attempts, backoffMs }, 'Job handler failed, so the job runs again after the backoff');
    await this.reschedule(job, this.settings.now() + backoffMs);
  }

  private async reschedule(job: RunningJob, runAt: number): Promise<void> {
    try {
      const stillClaimed = await rescheduleClaimedJob(this.settings.db, this.scope, job, runAt);
      if (!stillClaimed) {
        this.logger.debug({ jobId: job.id }, 'Job was replaced or its lease was lost before the reschedule, so the newer state stays');
      }
      this.wake(runAt);
    } catch (error) {
      this.logger.error({ err: error, jobId: job.id, runAt }, 'Rescheduling the job failed, so it runs again after its lease ends');
    }
  }

  private async extendRunningLeases(): Promise<void> {
    if (this.extending) {
      return;
    }

    const ids = [...new Set([...this.running].filter((job) => !job.released).map((job) => job.id))];
    if (ids.length === 0) {
      return;
    }

    this.extending = true;
    try {
      await extendLeases(this.settings.db, this.scope, ids, this.settings.now() + this.settings.leaseMs);
    } catch (error) {
      this.logger.error({ err: error, jobIds: ids }, 'Extending job leases failed, so other consumers may claim these jobs once the leases end');
    } finally {
      this.extending = false;
    }
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    clearTimeout(this.timer);
    await this.currentPump;

    const allFinished = Promise.all([...this.running].map((job) => job.finished));
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      deadline = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([allFinished, timedOut]);
    clearTimeout(deadline);

    // A job whose handler has returned only waits for its outcome to be written, which
    // takes one statement, so only handlers still running are aborted.
    const unfinished = [...this.running].filter((job) => !job.settling);
    if (unfinished.length > 0) {
      await this.releaseUnfinished(unfinished, timeoutMs);
    }
    await Promise.all([...this.running].filter((job) => job.settling).map((job) => job.finished));

    clearInterval(this.heartbeat);
    this.settings.onClosed();
    this.logger.info({ owner: this.settings.owner }, 'Queue consumer closed');
  }

  private async releaseUnstarted(row: ClaimedRow): Promise<void> {
    try {
      await releaseClaimedJobs(this.settings.db, this.scope, [row]);
    } catch (error) {
      this.logger.error({ err: error, jobId: row.id }, 'Returning a job claimed during close to the queue failed, so it runs again after its lease ends');
    }
  }

  /** Aborts handlers that outlived the close deadline and returns their jobs to the queue. */
  private async releaseUnfinished(unfinished: RunningJob[], timeoutMs: number): Promise<void> {
    for (const job of unfinished) {
      job.released = true;
      job.controller.abort();
    }

    const jobIds = unfinished.map((job) => job.id);
    try {
      await releaseClaimedJobs(this.settings.db, this.scope, unfinished);
      this.logger.warn({ jobIds, timeoutMs }, 'Aborted the handlers still running at the close deadline and returned their jobs to the queue');
    } catch (error) {
      this.logger.error({ err: error, jobIds }, 'Returning aborted jobs to the queue failed, so they run again after their leases end');
    }
  }
}
