import { PostgresAdapter, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { QueueName } from './contract.js';
import { serializeData, type QueuedJob } from './bullmq-jobs.js';
import type { Database } from '../store/schema.js';

/** Rows per INSERT, well below the bound-parameter limits of SQLite and PostgreSQL. */
const rowsPerInsert = 500;

const queueNames: readonly string[] = ['events', 'webhooks'] satisfies QueueName[];

/** Writes jobs to the outbox through `transaction`, so they exist if and only if it commits. */
export async function insertOutboxRows(transaction: Transaction<Database>, queue: QueueName, jobs: readonly QueuedJob[], now: number): Promise<void> {
  for (let start = 0; start < jobs.length; start += rowsPerInsert) {
    const rows = jobs.slice(start, start + rowsPerInsert).map((job) => ({
      queue,
      job_id: job.id,
      data: serializeData(job.data),
      run_at: Math.round(job.runAt),
      created_at: now,
    }));
    await transaction.insertInto('outbox').values(rows).execute();
  }
}

export interface OutboxRelaySettings {
  db: Kysely<Database>;
  /** Adds the jobs of one batch to a queue. Rejects when they could not be added. */
  publish: (queue: QueueName, jobs: QueuedJob[]) => Promise<void>;
  /** Outbox rows moved per database transaction. */
  batchSize: number;
  /** Time between two looks at the outbox when nothing woke the relay, in milliseconds. */
  intervalMs: number;
  /** Maximum wait before a retry after a failed batch, in milliseconds. */
  maxBackoffMs: number;
  logger: Logger;
}

/** Wait before the first retry after a failure, in milliseconds. It doubles with each failure. */
const firstBackoffMs = 100;

/**
 * Moves outbox rows to the queue, oldest first. Each batch is deleted and published in one
 * database transaction, so the rows come back if publishing fails or the process dies
 * before the commit. Publishing a batch twice is harmless while its jobs exist, because
 * jobs keep their ids and a repeated add with the same data changes nothing. A job that
 * already finished runs again in that case, which handlers must tolerate (at least once).
 *
 * Several relays may run at once. On PostgreSQL each batch locks its rows with
 * `FOR UPDATE SKIP LOCKED`, so relays take different rows. On SQLite the DELETE takes the
 * database's write lock until the commit, so batches run one after another. That lock also
 * holds back other writers while a batch is published, which takes one Redis round trip.
 */
export class OutboxRelay {
  private readonly settings: OutboxRelaySettings;
  private readonly postgres: boolean;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private runAgain = false;
  private failures = 0;
  private closed = false;

  constructor(settings: OutboxRelaySettings) {
    this.settings = settings;
    this.postgres = settings.db.getExecutor().adapter instanceof PostgresAdapter;
  }

  start(): void {
    this.schedule(0);
  }

  /** Looks at the outbox at once, unless the relay is backing off after a failure. */
  wake(): void {
    if (this.closed || this.failures > 0) {
      return;
    }
    if (this.running) {
      this.runAgain = true;
      return;
    }
    this.schedule(0);
  }

  /** Stops the relay after the batch in progress. Rows not yet moved stay in the outbox. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) {
      return;
    }
    this.timer = setTimeout(() => this.run(), delayMs);
  }

  private run(): void {
    if (this.closed) {
      return;
    }
    if (this.running) {
      this.runAgain = true;
      return;
    }

    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.runAgain && this.failures === 0) {
        this.runAgain = false;
        this.schedule(0);
      }
    });
  }

  /** Moves batches until the outbox is empty, then waits for the interval or a wake. Never rejects. */
  private async drain(): Promise<void> {
    try {
      while (!this.closed && (await this.relayBatch()) === this.settings.batchSize) {
        // A full batch means more rows may be waiting.
      }
    } catch (error) {
      this.failures += 1;
      const retryInMs = this.backoffMs();
      this.settings.logger.warn(
        { err: error, failures: this.failures, retryInMs },
        'Moving outbox rows to the queue failed, so they stay in the outbox and the relay retries after the backoff',
      );
      this.schedule(retryInMs);
      return;
    }

    if (this.failures > 0) {
      this.settings.logger.info({ failures: this.failures }, 'Outbox relay recovered and moves rows to the queue again');
      this.failures = 0;
    }
    this.schedule(this.settings.intervalMs);
  }

  private backoffMs(): number {
    const backoff = Math.min(this.settings.maxBackoffMs, firstBackoffMs * 2 ** Math.min(this.failures - 1, 30));
    // Up to 20% less, so processes that failed together do not retry in step.
    return Math.round(backoff * (1 - Math.random() * 0.2));
  }

  /** Moves one batch. Returns how many rows it moved. */
  private async relayBatch(): Promise<number> {
    const { db, batchSize } = this.settings;

    // A read first, so an empty outbox costs no write transaction (on SQLite, no write lock).
    const first = await db.selectFrom('outbox').select('seq').limit(1).executeTakeFirst();
    if (!first) {
      return 0;
    }

    return db.transaction().execute(async (transaction) => {
      let oldest = transaction.selectFrom('outbox').select('seq').orderBy('seq').limit(batchSize);
      if (this.postgres) {
        oldest = oldest.forUpdate().skipLocked();
      }
      const rows = await transaction
        .deleteFrom('outbox')
        .where('seq', 'in', oldest)
        .returning(['seq', 'queue', 'job_id', 'data', 'run_at'])
        .execute();

      // DELETE ... RETURNING gives rows in no defined order.
      rows.sort((left, right) => Number(left.seq) - Number(right.seq));
      for (const [queue, jobs] of this.groupByQueue(rows)) {
        await this.settings.publish(queue, jobs);
      }
      return rows.length;
    });
  }

  private groupByQueue(rows: { seq: number; queue: string; job_id: string; data: string; run_at: number }[]): Map<QueueName, QueuedJob[]> {
    const byQueue = new Map<QueueName, QueuedJob[]>();
    for (const row of rows) {
      let data: unknown;
      try {
        data = JSON.parse(row.data);
      } catch (error) {
        this.settings.logger.error({ err: error, seq: row.seq, queue: row.queue, jobId: row.job_id }, 'Dropped an outbox row whose data is not valid JSON');
        continue;
      }
      if (!queueNames.includes(row.queue)) {
        this.settings.logger.error({ seq: row.seq, queue: row.queue, jobId: row.job_id }, 'Dropped an outbox row for an unknown queue');
        continue;
      }

      const queue = row.queue as QueueName;
      const jobs = byQueue.get(queue) ?? [];
      jobs.push({ id: row.job_id, data, runAt: Number(row.run_at) });
      byQueue.set(queue, jobs);
    }
    return byQueue;
  }
}
