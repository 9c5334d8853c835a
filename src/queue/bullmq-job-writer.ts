import type { IRedisTransaction, Queue as BullQueue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { QueueCounts } from './contract.js';
import { whenConnected } from './redis-connections.js';
import {
  createBullJob,
  latestInRunAtOrder,
  queueRemoveJob,
  replacementsKey,
  serializeData,
  toBullmqId,
  type QueuedJob,
  type StoredReplacement,
} from './bullmq-jobs.js';
import { defineScheduledCommands, extrasOfNewJob, queueSchedule, queueUnschedule, scheduledKeys, type ScheduledKeys } from './bullmq-scheduled.js';

/** Jobs per Redis transaction, so one large add does not block Redis for long. */
const jobsPerTransaction = 500;

const stageCommand = 'hooklineStageReplacement';

/**
 * Decides, inside the transaction that adds a job, whether the add may replace the job now.
 *
 * KEYS[1] job hash, KEYS[2] job lock, KEYS[3] replacements hash.
 * ARGV[1] BullMQ job id, ARGV[2] stored replacement (JSON), ARGV[3] job data (JSON),
 * ARGV[4] '1' when the writer found no job before the transaction.
 *
 * Returns:
 * - 'written': the removeJob and addJob that follow in the transaction write the job.
 * - 'deferred': the job is running, or another add created it after the writer looked, so
 *   the addJob that follows is ignored as a duplicate. The new version waits in the
 *   replacements hash until the run ends (see DeferredReplacements).
 * - 'unchanged': the job already has this data, so nothing changes. A relay that repeats an
 *   outbox row after a crash therefore cannot run a job a second time while it still exists.
 */
const stageScript = `
local function sameData()
  return redis.call('HGET', KEYS[1], 'data') == ARGV[3]
end

if redis.call('EXISTS', KEYS[2]) == 1 or (ARGV[4] == '1' and redis.call('EXISTS', KEYS[1]) == 1) then
  if sameData() then
    redis.call('HDEL', KEYS[3], ARGV[1])
    return 'unchanged'
  end
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  return 'deferred'
end

redis.call('HDEL', KEYS[3], ARGV[1])
return 'written'
`;

/** A BullMQ transaction, which is an ioredis transaction underneath, with the ioredis commands used here. */
type Transaction = IRedisTransaction & Pick<ChainableCommander, 'hdel' | 'zrem'>;

export interface BullmqJobWriterSettings {
  /** BullMQ queue on the producer connection. */
  queue: BullQueue;
  /** The producer connection under `queue`. */
  redis: Redis;
  now: () => number;
  logger: Logger;
  /** Called with the earliest run time of the jobs that a call wrote to the scheduled set. */
  onScheduled: (runAt: number) => void;
}

/**
 * Adds, replaces, removes and counts the jobs of one BullMQ queue. A job whose run time is
 * in the future goes to the scheduled set (see bullmq-scheduled.ts), and a job due now
 * goes to BullMQ.
 *
 * Replacing by id: BullMQ ignores an add whose job id exists, so a replacement removes the
 * job, and any member of the scheduled set with its id, and writes the new version in one
 * MULTI transaction, which no worker can interleave. A running job cannot be removed, so
 * its new version is kept aside and written when the run ends, whatever the run decided
 * (see DeferredReplacements).
 */
export class BullmqJobWriter {
  private readonly settings: BullmqJobWriterSettings;
  private readonly key: string;
  private readonly scheduled: ScheduledKeys;

  constructor(settings: BullmqJobWriterSettings) {
    this.settings = settings;
    this.key = replacementsKey(settings.queue);
    this.scheduled = scheduledKeys(settings.queue);
    settings.redis.defineCommand(stageCommand, { numberOfKeys: 3, lua: stageScript });
    defineScheduledCommands(settings.redis);
  }

  /** Adds or replaces jobs. When an id repeats, the last job wins. */
  async add(jobs: readonly QueuedJob[]): Promise<void> {
    const ordered = latestInRunAtOrder(jobs);
    for (let start = 0; start < ordered.length; start += jobsPerTransaction) {
      await this.addBatch(ordered.slice(start, start + jobsPerTransaction));
    }
  }

  /**
   * Adds the jobs whose id has no job, no member of the scheduled set and no replacement
   * waiting for a run to end, and leaves the others as they are. A job or member that
   * another add creates after the look-up is kept, because BullMQ ignores an add whose id
   * exists and the scheduled set is written with keep semantics. Returns how many jobs were
   * added.
   */
  async ensure(jobs: readonly QueuedJob[]): Promise<number> {
    let added = 0;
    const ordered = latestInRunAtOrder(jobs);
    for (let start = 0; start < ordered.length; start += jobsPerTransaction) {
      const batch = ordered.slice(start, start + jobsPerTransaction);
      const existing = await this.findExisting(batch, { withReplacements: true });
      const missing = batch.filter((_job, index) => existing[index] !== true);
      if (missing.length === 0) {
        continue;
      }
      const transaction = await this.startTransaction();
      const now = this.settings.now();
      let earliestScheduled = Number.POSITIVE_INFINITY;
      for (const job of missing) {
        if (job.runAt > now) {
          queueSchedule(transaction, this.settings.queue, this.scheduled, job, extrasOfNewJob(this.settings.queue.name, job), 'keep');
          earliestScheduled = Math.min(earliestScheduled, job.runAt);
        } else {
          await createBullJob(this.settings.queue, job, now).addJob(transaction);
        }
      }
      throwFirstError(await transaction.exec(), `ensure ${missing.length} jobs in queue ${this.settings.queue.name}`);
      added += missing.length;
      if (earliestScheduled !== Number.POSITIVE_INFINITY) {
        this.settings.onScheduled(earliestScheduled);
      }
    }
    return added;
  }

  /**
   * Removes a waiting or delayed job, its member of the scheduled set and any replacement
   * waiting for it. A running job keeps running.
   */
  async remove(id: string): Promise<void> {
    const bullmqId = toBullmqId(id);
    const transaction = await this.startTransaction();
    transaction.hdel(this.key, bullmqId);
    queueUnschedule(transaction, this.scheduled, bullmqId);
    queueRemoveJob(this.settings.queue, transaction, bullmqId);
    throwFirstError(await transaction.exec(), `remove job ${id}`);
  }

  /**
   * Counts jobs by state. Members of the scheduled set, and replacements waiting for a run
   * to end, count as waiting or delayed by their run time, because they run like any other
   * job.
   */
  async counts(): Promise<QueueCounts> {
    await whenConnected(this.settings.redis);
    const now = this.settings.now();
    const [counts, replacements, scheduledDue, scheduledLater] = await Promise.all([
      this.settings.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
      this.settings.redis.hvals(this.key),
      this.settings.redis.zcount(this.scheduled.members, '-inf', now),
      this.settings.redis.zcount(this.scheduled.members, `(${now}`, '+inf'),
    ]);

    // Members of the scheduled set that are due wait only for the next promotion pass.
    let waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + scheduledDue;
    let delayed = (counts.delayed ?? 0) + scheduledLater;
    for (const text of replacements) {
      const replacement = JSON.parse(text) as StoredReplacement;
      if (replacement.runAt > now) {
        delayed += 1;
      } else {
        waiting += 1;
      }
    }
    return { waiting, delayed, active: counts.active ?? 0 };
  }

  /**
   * Returns when the oldest job of the wait list became due, on the queue's clock. BullMQ
   * pushes new jobs at the head of the list, so the oldest is at the tail.
   */
  async oldestWaitingDueAt(): Promise<number | null> {
    await whenConnected(this.settings.redis);
    const now = this.settings.now();
    const [[oldest], [, scheduledScore]] = await Promise.all([
      this.settings.queue.getJobs(['wait'], 0, 0, true),
      this.settings.redis.zrangebyscore(this.scheduled.members, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1),
    ]);

    // A due member of the scheduled set has waited since its run time.
    let dueAt = scheduledScore === undefined ? null : Number(scheduledScore);
    if (oldest !== undefined) {
      // NOTE: BullMQ keeps a job's creation time and its latest delay but not when a retry was
      // scheduled. The last start is used instead, so a job retried through BullMQ's delayed
      // set is early by the duration of the attempt before it, at most HOOKLINE_REQUEST_TIMEOUT.
      // A job promoted from the scheduled set counts from its promotion, a few milliseconds
      // after its run time.
      const dueAtRealClock = (oldest.processedOn ?? oldest.timestamp) + (oldest.delay ?? 0);
      const jobDueAt = dueAtRealClock + (now - Date.now());
      dueAt = dueAt === null ? jobDueAt : Math.min(dueAt, jobDueAt);
    }
    return dueAt;
  }

  private async addBatch(jobs: QueuedJob[]): Promise<void> {
    const { queue } = this.settings;
    const existing = await this.findExisting(jobs);
    const transaction = await this.startTransaction();
    const now = this.settings.now();
    let earliestScheduled = Number.POSITIVE_INFINITY;

    for (const [index, job] of jobs.entries()) {
      const bullmqId = toBullmqId(job.id);
      const jobKey = queue.toKey(bullmqId);
      const data = serializeData(job.data);
      const replacement: StoredReplacement = { data, runAt: job.runAt };
      const exists = existing[index] === true;

      transaction.runCommand(stageCommand, [jobKey, `${jobKey}:lock`, this.key, bullmqId, JSON.stringify(replacement), data, exists ? '0' : '1']);
      // Removing an absent job makes BullMQ search the wait and active lists, so only a job
      // that existed a moment ago is removed.
      if (exists) {
        queueRemoveJob(queue, transaction, bullmqId);
      }
      // Both writes leave a job that is still there, because it runs, to the stage script.
      if (job.runAt > now) {
        queueSchedule(transaction, queue, this.scheduled, job, extrasOfNewJob(queue.name, job), 'replace');
        earliestScheduled = Math.min(earliestScheduled, job.runAt);
      } else {
        queueUnschedule(transaction, this.scheduled, bullmqId);
        await createBullJob(queue, job, now).addJob(transaction);
      }
    }

    const results = throwFirstError(await transaction.exec(), `add ${jobs.length} jobs to queue ${queue.name}`);
    if (earliestScheduled !== Number.POSITIVE_INFINITY) {
      this.settings.onScheduled(earliestScheduled);
    }
    this.logDeferred(jobs, existing, results, now);
  }

  /**
   * Returns for each job whether a BullMQ job with its id exists, or with
   * `withReplacements`, whether a job, a member of the scheduled set or a replacement
   * waiting for a run to end exists.
   */
  private async findExisting(jobs: readonly QueuedJob[], options: { withReplacements?: boolean } = {}): Promise<boolean[]> {
    await whenConnected(this.settings.redis);
    const pipeline = this.settings.redis.pipeline();
    for (const job of jobs) {
      const bullmqId = toBullmqId(job.id);
      pipeline.exists(this.settings.queue.toKey(bullmqId));
      if (options.withReplacements) {
        pipeline.hexists(this.key, bullmqId);
        pipeline.zscore(this.scheduled.members, bullmqId);
      }
    }

    const replies = throwFirstError(await pipeline.exec(), 'look up existing jobs');
    const repliesPerJob = options.withReplacements ? 3 : 1;
    // EXISTS and HEXISTS reply 1 for a hit, and ZSCORE replies the score.
    const found = (reply: unknown) => reply === 1 || typeof reply === 'string';
    return jobs.map((_job, index) => replies.slice(index * repliesPerJob, (index + 1) * repliesPerJob).some(found));
  }

  /**
   * Starts a transaction on the producer connection. Fails at once while Redis is
   * unreachable, because BullMQ would otherwise wait for the connection to come back.
   */
  private async startTransaction(): Promise<Transaction> {
    await whenConnected(this.settings.redis);
    const client = await this.settings.queue.getBackend().client;
    return client.multi() as Transaction;
  }

  private logDeferred(jobs: readonly QueuedJob[], existing: readonly boolean[], results: unknown[], now: number): void {
    let position = 0;
    for (const [index, job] of jobs.entries()) {
      const staged = results[position];
      // The stage script, removeJob when the job existed, then one command to schedule a
      // job or two (ZREM and HDEL) plus addJob for a job due now.
      position += 1 + (existing[index] ? 1 : 0) + (job.runAt > now ? 1 : 3);

      if (staged === 'deferred') {
        this.settings.logger.debug({ jobId: job.id }, 'Job is running or was just added, so its replacement is written once that settles');
      } else if (staged === 'unchanged') {
        this.settings.logger.debug({ jobId: job.id }, 'Job already has this data, so the add changed nothing');
      }
    }
  }
}

/** Returns the replies of a pipeline or transaction, or throws the first error among them. */
export function throwFirstError(results: [Error | null, unknown][] | null, action: string): unknown[] {
  if (results === null) {
    throw new Error(`Redis aborted the transaction to ${action}.`);
  }
  for (const [error] of results) {
    if (error) {
      throw new Error(`Redis failed to ${action}: ${error.message}`, { cause: error });
    }
  }
  return results.map(([, reply]) => reply);
}
