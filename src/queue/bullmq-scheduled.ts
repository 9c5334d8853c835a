import type { Queue as BullQueue } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import type { QueueName } from './contract.js';
import { fromBullmqId, serializeData, toBullmqId, type QueuedJob } from './bullmq-jobs.js';

/**
 * The scheduled set: jobs whose run time is in the future, kept out of BullMQ until they are
 * due. Measured with MEMORY USAGE on Redis 7.0, a BullMQ delayed job that carries only an
 * id takes about 840 bytes, and a scheduled delivery 120 to 190 (see docs/benchmarks.md).
 *
 * - `<queue key>:hookline:scheduled` is a sorted set whose members are BullMQ job ids and
 *   whose scores are run times in milliseconds on the queue's clock.
 * - `<queue key>:hookline:scheduled-data` is a hash from BullMQ job id to the job's extras
 *   (see `encodeExtras`). A job has a field only when it was claimed before or its data
 *   differs from the data its id implies.
 *
 * A promoter (see ScheduledPromoter) turns due members into BullMQ jobs with the same id.
 * Job ids cannot contain a colon, so neither key names a job.
 */
export interface ScheduledKeys {
  /** Sorted set of BullMQ job ids by run time. */
  members: string;
  /** Hash of the extras of members that have any. */
  extras: string;
}

export function scheduledKeys(queue: Pick<BullQueue, 'toKey'>): ScheduledKeys {
  return { members: queue.toKey('hookline:scheduled'), extras: queue.toKey('hookline:scheduled-data') };
}

/**
 * Returns the usual data of a job of `queue` with this id: a delivery job names its
 * delivery and was scheduled by the retry schedule, and a fan-out job names its message.
 * Data equal to this is not stored with a scheduled job.
 */
export function impliedData(queue: string, id: string): unknown {
  switch (queue as QueueName) {
    case 'webhooks':
      return { deliveryId: id, trigger: 0 };
    case 'events':
      return { msgId: id };
    default:
      return undefined;
  }
}

/** Attempt counts and data of a scheduled job, which are stored beside its id and run time. */
export interface ScheduledExtras {
  /** Claims of the job so far (BullMQ `attemptsStarted`). */
  attemptsStarted: number;
  /** Failed attempts so far (BullMQ `attemptsMade`), which set the failure backoff. */
  attemptsMade: number;
  /** JSON text of the job data. */
  data: string;
}

/**
 * Encodes extras as the value of a scheduled-data field: `<attemptsStarted>`, then
 * `,<attemptsMade>` when it is not 0, then `|<data JSON>` when the data is not the implied
 * data. Returns '' when nothing needs storing, which means no field.
 */
export function encodeExtras(queue: string, bullmqId: string, extras: ScheduledExtras): string {
  const ownData = extras.data !== serializeData(impliedData(queue, fromBullmqId(bullmqId)));
  if (extras.attemptsStarted === 0 && extras.attemptsMade === 0 && !ownData) {
    return '';
  }

  let text = String(extras.attemptsStarted);
  if (extras.attemptsMade !== 0) {
    text += `,${extras.attemptsMade}`;
  }
  if (ownData) {
    text += `|${extras.data}`;
  }
  return text;
}

/**
 * Decodes a scheduled-data field, or '' for a member without one. Throws a SyntaxError when
 * the text is not in the format of encodeExtras.
 */
export function decodeExtras(queue: string, bullmqId: string, text: string): ScheduledExtras {
  const implied = () => serializeData(impliedData(queue, fromBullmqId(bullmqId)));
  if (text === '') {
    return { attemptsStarted: 0, attemptsMade: 0, data: implied() };
  }

  const separator = text.indexOf('|');
  const counts = separator === -1 ? text : text.slice(0, separator);
  if (!/^\d+(,\d+)?$/.test(counts)) {
    throw new SyntaxError(`Invalid attempt counts ${JSON.stringify(counts)} of scheduled job ${bullmqId}. Expected <attemptsStarted>[,<attemptsMade>].`);
  }
  const [started, made] = counts.split(',');
  const data = separator === -1 ? implied() : text.slice(separator + 1);
  // Checks the JSON here, so that a promoter never hands BullMQ data it cannot parse.
  JSON.parse(data);
  return { attemptsStarted: Number(started), attemptsMade: made === undefined ? 0 : Number(made), data };
}

/** Returns the extras of a job added through the queue, which has not been claimed yet. */
export function extrasOfNewJob(queue: string, job: QueuedJob): string {
  return encodeExtras(queue, toBullmqId(job.id), { attemptsStarted: 0, attemptsMade: 0, data: serializeData(job.data) });
}

export const scheduleCommand = 'hooklineSchedule';

/**
 * Writes a scheduled job, unless a BullMQ job with its id exists. Such a job is running, or
 * another writer created it a moment ago, and the callers' own checks decide what happens
 * to it (see BullmqJobWriter).
 *
 * KEYS[1] job hash, KEYS[2] scheduled set, KEYS[3] scheduled-data hash.
 * ARGV[1] BullMQ job id, ARGV[2] run time, ARGV[3] extras or '',
 * ARGV[4] 'replace' to overwrite a member with this id, 'keep' to leave it.
 * Returns 1 when it wrote the member, 0 when it left things as they were.
 */
const scheduleScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[4] == 'keep' and redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[3], ARGV[1])
else
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
return 1
`;

export const scheduleRetryCommand = 'hooklineScheduleRetry';

/**
 * Writes the member of a running job that its handler asked to run again later, if the
 * caller still holds the job's lock. The caller removes the BullMQ job in the same
 * transaction, so the job is never both running and scheduled.
 *
 * KEYS[1] job lock, KEYS[2] scheduled set, KEYS[3] scheduled-data hash.
 * ARGV[1] lock token, ARGV[2] BullMQ job id, ARGV[3] run time, ARGV[4] extras or ''.
 * Returns 1 when it wrote the member, 0 when the lock belongs to another worker.
 */
const scheduleRetryScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[3], ARGV[2])
else
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
end
return 1
`;

export const readDueCommand = 'hooklineReadDue';

/**
 * Reads up to ARGV[2] members due at ARGV[1], earliest first.
 * KEYS[1] scheduled set, KEYS[2] scheduled-data hash.
 * Returns a flat list of BullMQ job id, score and extras ('' for none) per member.
 */
const readDueScript = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local result = {}
for index = 1, #members, 2 do
  local id = members[index]
  result[#result + 1] = id
  result[#result + 1] = members[index + 1]
  result[#result + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return result
`;

/** Field that marks a job hash as a placeholder that the promoter created. BullMQ writes no such field. */
const placeholderField = 'hookline:placeholder';

export const guardPromotionCommand = 'hooklineGuardPromotion';

/**
 * Runs in the promotion transaction just before BullMQ's addJob. When the member changed
 * since the promoter read it (another promoter moved it, or an add replaced or removed it),
 * it creates a placeholder job hash if no job exists, so that addJob ignores the stale
 * version as a duplicate.
 *
 * KEYS[1] job hash, KEYS[2] scheduled set, KEYS[3] scheduled-data hash.
 * ARGV[1] BullMQ job id, ARGV[2] score as read, ARGV[3] extras as read or ''.
 */
const guardPromotionScript = `
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
local extras = redis.call('HGET', KEYS[3], ARGV[1]) or ''
if score and tonumber(score) == tonumber(ARGV[2]) and extras == ARGV[3] then
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], '${placeholderField}', '1')
end
return 0
`;

export const finishPromotionCommand = 'hooklineFinishPromotion';

/**
 * Runs in the promotion transaction just after BullMQ's addJob, and removes the member only
 * when that addJob created the job.
 *
 * KEYS[1] job hash, KEYS[2] scheduled set, KEYS[3] scheduled-data hash.
 * ARGV[1] BullMQ job id, ARGV[2] timestamp given to addJob, ARGV[3] attemptsStarted,
 * ARGV[4] attemptsMade.
 *
 * Returns:
 * - 'promoted': the job was created, and the member removed.
 * - 'changed': the guard found the member changed, so addJob wrote nothing and the
 *   placeholder is deleted again.
 * - 'duplicate': a job with this id existed before, so addJob wrote nothing and the member
 *   stays until that job has ended.
 * - 'changed' also when a job existed and the member is gone, because an add due now wrote
 *   that job in place of the member.
 */
const finishPromotionScript = `
if redis.call('HEXISTS', KEYS[1], '${placeholderField}') == 1 then
  redis.call('DEL', KEYS[1])
  return 'changed'
end
if tonumber(redis.call('HGET', KEYS[1], 'timestamp')) ~= tonumber(ARGV[2]) then
  if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    return 'duplicate'
  end
  return 'changed'
end
if ARGV[3] ~= '0' then
  redis.call('HSET', KEYS[1], 'ats', ARGV[3])
end
if ARGV[4] ~= '0' then
  redis.call('HSET', KEYS[1], 'atm', ARGV[4])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 'promoted'
`;

const definitions: [string, number, string][] = [
  [scheduleCommand, 3, scheduleScript],
  [scheduleRetryCommand, 3, scheduleRetryScript],
  [readDueCommand, 2, readDueScript],
  [guardPromotionCommand, 3, guardPromotionScript],
  [finishPromotionCommand, 3, finishPromotionScript],
];

/** Defines the scheduled-set scripts as commands on a connection. Defining them twice is harmless. */
export function defineScheduledCommands(redis: Redis): void {
  for (const [name, numberOfKeys, lua] of definitions) {
    if (!(name in redis)) {
      redis.defineCommand(name, { numberOfKeys, lua });
    }
  }
}

/** Runs a command that defineScheduledCommands defined on `redis`. */
export function runScript(redis: Redis, name: string, args: string[]): Promise<unknown> {
  const command = (redis as unknown as Record<string, ((...args: string[]) => Promise<unknown>) | undefined>)[name];
  if (command === undefined) {
    throw new Error(`Redis command ${name} is not defined on this connection. Call defineScheduledCommands first.`);
  }
  return command.apply(redis, args);
}

/** The commands a transaction needs to write scheduled jobs. */
export interface ScheduledTransaction {
  runCommand(name: string, args: unknown[]): unknown;
}

/** Queues the write of a scheduled job in `transaction` (see scheduleScript). */
export function queueSchedule(
  transaction: ScheduledTransaction,
  queue: BullQueue,
  keys: ScheduledKeys,
  job: QueuedJob,
  extras: string,
  mode: 'replace' | 'keep',
): void {
  const bullmqId = toBullmqId(job.id);
  transaction.runCommand(scheduleCommand, [queue.toKey(bullmqId), keys.members, keys.extras, bullmqId, String(Math.round(job.runAt)), extras, mode]);
}

/** Queues the removal of the member with this id, if any, in `transaction`. */
export function queueUnschedule(transaction: Pick<ChainableCommander, 'zrem' | 'hdel'>, keys: ScheduledKeys, bullmqId: string): void {
  transaction.zrem(keys.members, bullmqId);
  transaction.hdel(keys.extras, bullmqId);
}
