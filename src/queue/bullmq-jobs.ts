import { Job as BullJob, QueueKeys, type IRedisTransaction, type JobsOptions, type Queue as BullQueue } from 'bullmq';
import type { JobToAdd } from './contract.js';

/** A job checked and ready to be written to BullMQ. */
export interface QueuedJob {
  id: string;
  data: unknown;
  /** When the job becomes due, in milliseconds since the epoch of the queue's clock. */
  runAt: number;
}

/**
 * Attempts BullMQ allows a job whose handler throws. Near 2^31, so in practice a job is
 * retried until it succeeds: at the 60 s maximum backoff this count lasts over 4,000 years.
 */
export const unlimitedAttempts = 2 ** 31 - 1;

/** Failed jobs kept in Redis for inspection. Only jobs that ran out of attempts fail for good. */
export const keptFailedJobs = 1_000;

/** Stack traces kept on a job that failed several times, newest last. */
const keptStackTraces = 3;

/** Name of the backoff strategy that the consumers register (see `failureBackoffMs`). */
export const backoffStrategyName = 'hookline';

/**
 * Returns the key of the hash that contains the replacements of running jobs, by BullMQ
 * job id. Job ids cannot contain a colon, so this key never names a job.
 */
export function replacementsKey(queue: BullQueue): string {
  return queue.toKey('hookline:replacements');
}

/** A replacement waiting for the run of its job to end, as stored in the replacements hash. */
export interface StoredReplacement {
  /** JSON text of the job data. */
  data: string;
  runAt: number;
}

/**
 * Names of BullMQ 6's own keys under a queue. A job's hash lives at `<queue key>:<job id>`,
 * so a job id equal to one of these names would overwrite that key.
 */
const bullmqKeyNames: ReadonlySet<string> = new Set([...Object.keys(new QueueKeys().getKeys('queue')), 'metrics']);

/** Starts the BullMQ id of a job id that BullMQ could not take as it is. */
const escapeMark = '~';

/**
 * Returns the BullMQ job id of a job id. BullMQ rejects integer ids, and ids equal to its
 * key names would overwrite its keys, so such ids, and ids that start with the escape
 * mark, get the mark in front. Every other id is used unchanged, so Redis keys show the
 * message and delivery ids. `fromBullmqId` reverses this.
 */
export function toBullmqId(id: string): string {
  const unsafe = id.startsWith(escapeMark) || bullmqKeyNames.has(id) || String(Number.parseInt(id, 10)) === id;
  return unsafe ? `${escapeMark}${id}` : id;
}

export function fromBullmqId(bullmqId: string): string {
  return bullmqId.startsWith(escapeMark) ? bullmqId.slice(escapeMark.length) : bullmqId;
}

/**
 * Checks jobs before they are written and turns them into queued jobs. A colon is invalid
 * in an id, because BullMQ splits keys at colons and rejects such ids.
 */
export function toQueuedJobs<T>(jobs: readonly JobToAdd<T>[], now: number): QueuedJob[] {
  return jobs.map((job) => {
    const id: unknown = job.id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`Invalid job id: ${JSON.stringify(id)}. Expected a non-empty string.`);
    }
    if (id.includes(':')) {
      throw new TypeError(`Invalid job id: ${JSON.stringify(id)}. The BullMQ driver needs ids without colons.`);
    }

    const runAt = job.runAt ?? now;
    if (!Number.isFinite(runAt)) {
      throw new RangeError(`Invalid runAt of job ${id}: ${runAt}. Expected milliseconds since the epoch.`);
    }
    return { id, data: job.data, runAt };
  });
}

/** Keeps the last job of each id and orders the jobs by run time, earliest first. */
export function latestInRunAtOrder(jobs: readonly QueuedJob[]): QueuedJob[] {
  const latest = new Map<string, QueuedJob>();
  for (const job of jobs) {
    latest.delete(job.id);
    latest.set(job.id, job);
  }
  // BullMQ starts due jobs in the order they were added, so adding in run-time order makes
  // due jobs of one batch start earliest first. Array.prototype.sort is stable.
  return [...latest.values()].sort((left, right) => left.runAt - right.runAt);
}

/** Returns the JSON text BullMQ stores as a job's data. */
export function serializeData(data: unknown): string {
  return JSON.stringify(data === undefined ? {} : data);
}

/**
 * Creates the BullMQ job for `job`. The delay is computed on the queue's clock `now`, and
 * BullMQ counts it from `timestamp` on the real clock, which defaults to `Date.now()`.
 */
export function createBullJob(queue: BullQueue, job: QueuedJob, now: number, timestamp = Date.now()): BullJob {
  const bullmqId = toBullmqId(job.id);
  const options: JobsOptions = {
    jobId: bullmqId,
    timestamp,
    delay: Math.max(0, Math.round(job.runAt - now)),
    attempts: unlimitedAttempts,
    backoff: { type: backoffStrategyName },
    removeOnComplete: true,
    removeOnFail: { count: keptFailedJobs },
    stackTraceLimit: keptStackTraces,
  };
  return new BullJob(queue, queue.name, job.data === undefined ? {} : job.data, options, bullmqId);
}

/**
 * Queues BullMQ's own removeJob script in `transaction`. The script removes a job in any
 * state except a locked (running) one, so it does nothing to a job that is running.
 */
export function queueRemoveJob(queue: BullQueue, transaction: IRedisTransaction, bullmqId: string): void {
  const backend = queue.getBackend();
  // NOTE: removeArgs is protected in the BullMQ 6 typings. Calling it leaves the key and
  // argument layout of the script to BullMQ, and the BullMQ conformance tests fail if it changes.
  const args = (backend as unknown as { removeArgs(jobId: string, removeChildren: boolean): (string | number)[] }).removeArgs(bullmqId, false);
  backend.execCommand(transaction, 'removeJob', args);
}
