import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/** The queues of the pipeline: `events` feeds fan-out, `webhooks` feeds delivery attempts. */
export type QueueName = 'events' | 'webhooks';

export interface JobToAdd<T> {
  /**
   * Stable job id. Adding a job whose id is already waiting replaces its data and run time,
   * so a retry or a manual resend of one delivery never creates a second job.
   */
  id: string;
  data: T;
  /** When the job becomes due, in milliseconds since the epoch. Defaults to now. */
  runAt?: number;
  /**
   * Records the adder already holds, for a handler in this process. The embedded driver
   * passes them to a handler of this process that starts a job of addInTransaction right
   * after the commit. Every other job arrives without them, so a handler must work without.
   */
  local?: unknown;
}

export interface Job<T> {
  id: string;
  queue: QueueName;
  data: T;
  /**
   * How many times this job has been claimed, counting this claim. A claim that a closing
   * consumer aborted and returned to the queue is not counted.
   */
  attempts: number;
  /** The adder's `local` records, when this process added the job and runs it at once. */
  local?: unknown;
}

/**
 * What a handler decides about its job. Returning nothing completes and removes the job;
 * `{ retryAt }` keeps the job under the same id and runs it again at that time.
 * A handler throws only for faults of Hookline's own infrastructure. The queue then logs
 * the error with the `queue` and `jobId` and runs the job again after a short backoff.
 */
export type JobOutcome = void | { retryAt: number };

export type JobHandler<T> = (job: Job<T>, signal: AbortSignal) => Promise<JobOutcome>;

export interface ConsumerOptions {
  /** Jobs this process runs at the same time for this queue. */
  concurrency: number;
}

/** A running consumer of one queue. */
export interface Consumer {
  /**
   * Stops claiming jobs and waits up to `timeoutMs` for running handlers. Handlers still
   * running then are aborted through their signal, and their jobs return to the queue at
   * their current run time without counting an attempt.
   */
  close(timeoutMs: number): Promise<void>;
}

export interface QueueCounts {
  /** Jobs due now and not claimed. */
  waiting: number;
  /** Jobs due later. */
  delayed: number;
  /** Jobs claimed by a consumer whose lease has not ended. */
  active: number;
}

/**
 * The queue contract. The embedded driver keeps jobs in the store's database; the BullMQ
 * driver keeps them in Redis. Both pass the same conformance suite.
 */
export interface Queue {
  readonly driver: 'embedded' | 'bullmq';

  /** Adds or replaces jobs by id. */
  add<T>(queue: QueueName, jobs: JobToAdd<T>[]): Promise<void>;

  /**
   * Adds jobs as part of a store transaction, so they exist if and only if the
   * transaction commits. The embedded driver writes the jobs in the transaction; a
   * driver outside the database writes an outbox row that a relay moves later.
   */
  addInTransaction<T>(transaction: Transaction<Database>, queue: QueueName, jobs: JobToAdd<T>[]): Promise<void>;

  /**
   * Adds jobs whose id has no job yet, waiting, delayed or running; ids that have one are
   * left as they are. Recovery uses it to bring back lost jobs without disturbing live ones.
   * Returns how many jobs were added.
   */
  ensure<T>(queue: QueueName, jobs: JobToAdd<T>[]): Promise<number>;

  /** Tells the queue that jobs were committed by addInTransaction, so consumers wake at once. */
  notify(queue: QueueName): void;

  /** Starts consuming a queue in this process. */
  consume<T>(queue: QueueName, handler: JobHandler<T>, options: ConsumerOptions): Consumer;

  counts(queue: QueueName): Promise<QueueCounts>;

  /**
   * Returns when the longest-waiting job became due, in milliseconds since the epoch, or
   * null when no job is waiting. `now` minus this is the age that queue alerts watch.
   */
  oldestWaitingDueAt(queue: QueueName): Promise<number | null>;

  /** Removes a waiting or delayed job. A job being run is neither interrupted nor removed. */
  remove(queue: QueueName, id: string): Promise<void>;

  /** Closes every consumer (see Consumer.close) and releases connections. */
  close(timeoutMs: number): Promise<void>;
}
