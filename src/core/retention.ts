import type { Logger } from '../observability/logger.js';
import type { SharedState } from '../cache/contract.js';
import { statGranularities } from '../store/repositories/attempt-stats.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { NotFoundError } from './errors.js';
import type { MessageService } from './messages.js';

const dayMs = 86_400_000;

/** Rows one statement changes or deletes, so the job never holds a long write lock. */
export const retentionBatchSize = 500;

/** Batches one run makes per step at most; the next run continues where it stopped. */
const maxBatchesPerRun = 200;

/** How long the minute and hour buckets of the statistics are kept; day buckets follow HOOKLINE_RETENTION_DAYS. */
const statBucketRetentionMs = { minute: 2 * dayMs, hour: 31 * dayMs } as const;

/** SQLite pages returned to the file system per batch of incremental vacuum. */
const vacuumPagesPerBatch = 2_000;

export interface RetentionJobOptions {
  store: Store;
  /** Lock holder across processes, so one worker runs the job at a time. */
  state: SharedState;
  logger: Logger;
  clock: Clock;
  retentionDays: number;
  intervalMs: number;
}

export interface RetentionRunResult {
  messagesExpunged: number;
  attemptsExpunged: number;
  statBucketsDeleted: number;
  idempotencyKeysDeleted: number;
}

const lockKey = 'retention:lock';

/**
 * Expunges message payloads and attempt response bodies older than the retention period,
 * in batches of 500, and deletes expired statistics buckets and idempotency keys. Messages
 * and attempts stay as metadata. On SQLite the file then shrinks by incremental vacuum.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: RetentionJobOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.runLocked(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs the job once, now, and returns what it changed. */
  async runOnce(): Promise<RetentionRunResult> {
    const { store, clock, retentionDays, logger } = this.options;
    const now = clock();
    const cutoff = now - retentionDays * dayMs;
    const result: RetentionRunResult = { messagesExpunged: 0, attemptsExpunged: 0, statBucketsDeleted: 0, idempotencyKeysDeleted: 0 };

    result.messagesExpunged += await this.repeat(() => store.retention.expungeMessagesCreatedBefore(cutoff, retentionBatchSize));
    result.messagesExpunged += await this.repeat(() => store.retention.expungeMessagesExpiredBy(now, retentionBatchSize));
    result.attemptsExpunged += await this.repeat(() => store.retention.expungeAttemptsCreatedBefore(cutoff, retentionBatchSize));
    for (const [granularity, keepMs] of [
      ['minute', statBucketRetentionMs.minute],
      ['hour', statBucketRetentionMs.hour],
      ['day', retentionDays * dayMs],
    ] as const) {
      result.statBucketsDeleted += await this.repeat(() =>
        store.attemptStats.deleteBefore(granularity, now - Math.max(keepMs, statGranularities[granularity]), retentionBatchSize),
      );
    }
    result.idempotencyKeysDeleted += await this.repeat(() => store.retention.deleteExpiredIdempotencyKeys(now, retentionBatchSize));

    const changed = result.messagesExpunged + result.attemptsExpunged + result.statBucketsDeleted + result.idempotencyKeysDeleted;
    if (changed > 0) {
      await this.shrink();
      logger.info({ ...result, retentionDays }, 'Retention job expunged expired payloads');
    }
    return result;
  }

  /** Runs the job unless another process holds the lock or a run is still going. */
  private async runLocked(): Promise<void> {
    if (this.running || this.stopped) {
      return;
    }
    const run = (async () => {
      const owner = `${process.pid}:${Date.now()}`;
      const locked = await this.options.state.setIfAbsent(lockKey, owner, Math.max(this.options.intervalMs, 60_000));
      if (!locked) {
        return;
      }
      try {
        await this.runOnce();
      } finally {
        await this.options.state.delete(lockKey);
      }
    })();
    this.running = run;
    try {
      await run;
    } catch (error) {
      this.options.logger.error({ err: error }, 'Retention job failed; it runs again at the next interval');
    } finally {
      this.running = undefined;
    }
  }

  private async repeat(batch: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let round = 0; round < maxBatchesPerRun && !this.stopped; round += 1) {
      const changed = await batch();
      total += changed;
      if (changed < retentionBatchSize) {
        break;
      }
    }
    return total;
  }

  /** Returns the freed pages of a SQLite file to the file system. */
  private async shrink(): Promise<void> {
    const { store, logger } = this.options;
    if (store.dialect !== 'sqlite') {
      return;
    }
    if (!(await store.retention.incrementalVacuumEnabled())) {
      // Files created before incremental vacuum was turned on need one full VACUUM first.
      logger.info('Rewriting the SQLite file once with VACUUM so that later retention runs can shrink it');
      await store.retention.enableIncrementalVacuum();
    }
    await store.retention.shrinkFile(vacuumPagesPerBatch * maxBatchesPerRun);
  }
}

/** Expunges the content of one message or attempt on request, as Svix's expunge routes do. */
export class ContentService {
  constructor(
    private readonly store: Store,
    private readonly messages: MessageService,
  ) {}

  async expungeMessage(app: string, msgId: string): Promise<void> {
    const message = await this.messages.get(app, msgId);
    await this.store.retention.expungeMessage(message.appId, message.id);
  }

  async expungeAttempt(app: string, msgId: string, attemptId: string): Promise<void> {
    const message = await this.messages.get(app, msgId);
    const found = await this.store.retention.expungeAttempt(message.appId, message.id, attemptId);
    if (!found) {
      throw new NotFoundError('Attempt', attemptId);
    }
  }
}
