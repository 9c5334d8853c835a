import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Consumer, ConsumerOptions, JobHandler, JobToAdd, Queue, QueueCounts, QueueName } from './contract.js';
import { EmbeddedConsumer } from './embedded-consumer.js';
import { countJobs, deleteUnleasedJob, insertLeasedJob, oldestWaitingRunAt, upsertJobs, type ClaimedRow, type JobRow } from './embedded-store.js';
import { onTransactionEnd, type TransactionWork } from '../store/group-commit.js';
import type { Database } from '../store/schema.js';

export interface EmbeddedQueueOptions {
  /** The store's database. The queue uses it but does not close it. */
  db: Kysely<Database>;
  /**
   * Length of a claim's lease, in milliseconds. A consumer renews the leases of running jobs
   * every third of this, so only a job whose process stopped waits this long to run again.
   */
  leaseMs: number;
  /**
   * Maximum time a consumer sleeps before it looks for due jobs, in milliseconds. Jobs added
   * through this queue object wake its consumers at once, so this bounds how late a job is
   * when another process added it or a lease ended.
   */
  pollIntervalMs: number;
  logger: Logger;
  /** Clock in milliseconds since the epoch. Defaults to `Date.now`. Timers still wait in real time. */
  now?: () => number;
  /**
   * Runs a unit of writes in a transaction, such as the store's group commit, so claims and
   * deletions of completed jobs share the transaction of the other writes of the same turn.
   * Defaults to a transaction of its own for each unit.
   */
  commit?: <T>(work: TransactionWork<T>) => Promise<T>;
  /** Lease owner written on claimed jobs. Defaults to host name, process id and a random suffix. */
  owner?: string;
}

/** Maximum delay that setTimeout accepts, in milliseconds. */
const maxTimerMs = 2 ** 31 - 1;

function validateDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0 || value > maxTimerMs) {
    throw new RangeError(`Invalid ${name}: ${value}. Expected a positive number of milliseconds up to ${maxTimerMs}.`);
  }
}

/**
 * Turns jobs into rows, the last job winning when an id repeats, and returns the earliest
 * run time among them.
 */
function toRows<T>(jobs: readonly JobToAdd<T>[], now: number): { rows: JobRow[]; earliestRunAt: number } {
  const rows = new Map<string, JobRow>();
  let earliestRunAt = Number.POSITIVE_INFINITY;

  for (const job of jobs) {
    if (typeof job.id !== 'string' || job.id.length === 0) {
      throw new TypeError(`Invalid job id: ${JSON.stringify(job.id)}. Expected a non-empty string.`);
    }
    const runAt = job.runAt ?? now;
    if (!Number.isFinite(runAt)) {
      throw new RangeError(`Invalid runAt of job ${job.id}: ${runAt}. Expected milliseconds since the epoch.`);
    }

    rows.delete(job.id);
    rows.set(job.id, { id: job.id, data: JSON.stringify(job.data) ?? 'null', runAt: Math.round(runAt) });
    earliestRunAt = Math.min(earliestRunAt, runAt);
  }

  return { rows: [...rows.values()], earliestRunAt };
}

/**
 * The queue driver that keeps jobs in the store's `job` table, so jobs survive a restart
 * with no broker to run. Consumers claim due jobs under a lease that they renew while
 * handlers run. A job whose process stopped runs again once its lease ends.
 */
export class EmbeddedQueue implements Queue {
  readonly driver = 'embedded';

  private readonly db: Kysely<Database>;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly owner: string;
  private readonly commit: <T>(work: TransactionWork<T>) => Promise<T>;
  private readonly consumers = new Map<QueueName, Set<EmbeddedConsumer<unknown>>>();
  /** Queues that addInTransaction wrote unclaimed jobs to since their last notify. */
  private readonly unclaimedSinceNotify = new Set<QueueName>();
  private closed = false;

  constructor(options: EmbeddedQueueOptions) {
    validateDuration('leaseMs', options.leaseMs);
    validateDuration('pollIntervalMs', options.pollIntervalMs);

    this.db = options.db;
    this.leaseMs = options.leaseMs;
    this.pollIntervalMs = options.pollIntervalMs;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.commit = options.commit ?? ((work) => this.db.transaction().execute(work));
  }

  /**
   * Adds or replaces jobs by id and wakes this queue's consumers. A replaced job that is
   * running keeps running, but its claim can no longer complete or reschedule the new
   * version, which becomes claimable at its own run time.
   */
  async add<T>(queue: QueueName, jobs: JobToAdd<T>[]): Promise<void> {
    const { rows, earliestRunAt } = toRows(jobs, this.now());
    if (rows.length === 0) {
      return;
    }

    await upsertJobs(this.db, queue, rows, this.now());
    this.wake(queue, earliestRunAt);
  }

  async ensure<T>(queue: QueueName, jobs: JobToAdd<T>[]): Promise<number> {
    const { rows, earliestRunAt } = toRows(jobs, this.now());
    if (rows.length === 0) {
      return 0;
    }

    const added = await upsertJobs(this.db, queue, rows, this.now(), 'keep');
    this.wake(queue, earliestRunAt);
    return added;
  }

  /**
   * Writes the jobs through `transaction`. Call notify after the commit to wake consumers at
   * once. In a group commit transaction, a due job that a consumer of this process has room
   * for is written already claimed by that consumer. The consumer starts it, with its
   * `local` records, as soon as the transaction commits, so the job costs no claim statement
   * and its handler need not read what the adder held. If the transaction rolls back, the
   * consumer gets the slot back.
   */
  async addInTransaction<T>(transaction: Transaction<Database>, queue: QueueName, jobs: JobToAdd<T>[]): Promise<void> {
    const now = this.now();
    const { rows } = toRows(jobs, now);
    if (rows.length === 0) {
      return;
    }

    const consumer = this.consumers.get(queue)?.values().next().value;
    const locals = new Map(jobs.map((job) => [job.id, job.local]));
    const unclaimed: JobRow[] = [];
    for (const row of rows) {
      if (consumer === undefined || row.runAt > now || !consumer.reserve()) {
        unclaimed.push(row);
        continue;
      }
      // Set by the insert below, which runs before the transaction can end.
      const claim: { row?: ClaimedRow } = {};
      const local = locals.get(row.id);
      const registered = onTransactionEnd(
        transaction,
        () => (claim.row === undefined ? consumer.cancelReservation() : consumer.startReserved(claim.row, local)),
        () => consumer.cancelReservation(),
      );
      if (!registered) {
        consumer.cancelReservation();
        unclaimed.push(row);
        continue;
      }
      claim.row = await insertLeasedJob(transaction, { queue, owner: this.owner }, row, now + this.leaseMs, now);
    }
    if (unclaimed.length > 0) {
      this.unclaimedSinceNotify.add(queue);
      await upsertJobs(transaction, queue, unclaimed, now);
    }
  }

  /**
   * Wakes this queue's consumers within the current task: the commit before a notify
   * already gathered the jobs of a turn, so the claim does not wait for the next one.
   */
  notify(queue: QueueName): void {
    // Jobs that addInTransaction wrote claimed are already running or about to: no claim needed.
    if (!this.unclaimedSinceNotify.delete(queue)) {
      return;
    }
    this.wake(queue, this.now(), true);
  }

  consume<T>(queue: QueueName, handler: JobHandler<T>, options: ConsumerOptions): Consumer {
    if (this.closed) {
      throw new Error(`Cannot consume queue ${queue}: the queue is closed.`);
    }
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`Invalid concurrency for queue ${queue}: ${options.concurrency}. Expected a positive integer.`);
    }

    let consumers = this.consumers.get(queue);
    if (!consumers) {
      consumers = new Set();
      this.consumers.set(queue, consumers);
    }
    const registered = consumers;

    const consumer: EmbeddedConsumer<unknown> = new EmbeddedConsumer(
      {
        db: this.db,
        commit: this.commit,
        queue,
        owner: this.owner,
        concurrency: options.concurrency,
        leaseMs: this.leaseMs,
        pollIntervalMs: this.pollIntervalMs,
        logger: this.logger,
        now: this.now,
        onClosed: () => registered.delete(consumer),
      },
      handler as JobHandler<unknown>,
    );
    registered.add(consumer);
    return consumer;
  }

  counts(queue: QueueName): Promise<QueueCounts> {
    return countJobs(this.db, queue, this.now());
  }

  oldestWaitingDueAt(queue: QueueName): Promise<number | null> {
    return oldestWaitingRunAt(this.db, queue, this.now());
  }

  /** Deletes a waiting or delayed job. A job under an unexpired lease is neither interrupted nor deleted. */
  async remove(queue: QueueName, id: string): Promise<void> {
    await deleteUnleasedJob(this.db, queue, id, this.now());
  }

  /** Closes every consumer. The database stays open, because the store owns it. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const consumers = [...this.consumers.values()].flatMap((set) => [...set]);
    await Promise.all(consumers.map((consumer) => consumer.close(timeoutMs)));
  }

  private wake(queue: QueueName, runAt: number, soon = false): void {
    for (const consumer of this.consumers.get(queue) ?? []) {
      consumer.wake(runAt, soon);
    }
  }
}
