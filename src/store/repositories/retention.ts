import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';

/** Payload stored in place of an expunged one: Svix returns an expunged payload as `{}`. */
export const expungedPayload = Buffer.from('{}', 'utf8');

/** The part of a better-sqlite3 connection that shrinks the file. */
export interface SqlitePragmas {
  pragma(source: string): unknown;
}

/** Steps of the retention job, each walking one index in order. */
export type RetentionStep = 'message-created' | 'message-expiry' | 'attempt-created';

interface Position {
  position: number;
  lastId: string;
}

const start: Position = { position: -1, lastId: '' };

/**
 * Expunges payloads and response bodies in small batches. Each step walks an index by
 * (time, id) from where the previous batch stopped, and stores that place in
 * `retention_progress`. The range starts at the stored time, so a batch reads only the rows
 * it changes plus those that share the stored time.
 */
export class RetentionRepository {
  /**
   * `sqlite` is the better-sqlite3 connection under `db`. Incremental vacuum frees one page
   * per step of its statement, and Kysely runs a statement that returns no rows with a single
   * step, so the vacuum goes through better-sqlite3's pragma(), which steps to the end.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly sqlite?: SqlitePragmas,
  ) {}

  /**
   * Replaces the payloads of up to `limit` messages stored at or before `cutoff` (global
   * retention) and returns how many it changed.
   */
  async expungeMessagesCreatedBefore(cutoff: number, limit: number): Promise<number> {
    return this.runStep('message-created', limit, async (from) => {
      const rows = await this.db
        .selectFrom('message')
        .select(['id', 'created_at as time'])
        .where('created_at', '>=', from.position)
        .where((eb) => eb.or([eb('created_at', '>', from.position), eb('id', '>', from.lastId)]))
        .where('created_at', '<=', cutoff)
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      await this.expungeMessages(rows.map((row) => row.id));
      return rows;
    });
  }

  /** Replaces the payloads of up to `limit` messages whose own retention period ended by `now`. */
  async expungeMessagesExpiredBy(now: number, limit: number): Promise<number> {
    return this.runStep('message-expiry', limit, async (from) => {
      const rows = await this.db
        .selectFrom('message')
        .select(['id', 'payload_expires_at as time'])
        .where('payload_expires_at', 'is not', null)
        .where('payload_expires_at', '>=', from.position)
        .where((eb) => eb.or([eb('payload_expires_at', '>', from.position), eb('id', '>', from.lastId)]))
        .where('payload_expires_at', '<=', now)
        .orderBy('payload_expires_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      await this.expungeMessages(rows.map((row) => row.id));
      return rows.map((row) => ({ id: row.id, time: row.time ?? 0 }));
    });
  }

  /** Empties the response bodies of up to `limit` attempts made at or before `cutoff`. */
  async expungeAttemptsCreatedBefore(cutoff: number, limit: number): Promise<number> {
    return this.runStep('attempt-created', limit, async (from) => {
      const rows = await this.db
        .selectFrom('attempt')
        .select(['id', 'created_at as time'])
        .where('created_at', '>=', from.position)
        .where((eb) => eb.or([eb('created_at', '>', from.position), eb('id', '>', from.lastId)]))
        .where('created_at', '<=', cutoff)
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      if (rows.length > 0) {
        await this.db
          .updateTable('attempt')
          .set({ response: '' })
          .where(
            'id',
            'in',
            rows.map((row) => row.id),
          )
          .execute();
      }
      return rows;
    });
  }

  /** Replaces the payload of one message now. Returns whether the message exists. */
  async expungeMessage(appId: string, msgId: string): Promise<boolean> {
    const result = await this.db.updateTable('message').set({ payload: expungedPayload }).where('app_id', '=', appId).where('id', '=', msgId).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Empties the response body of one attempt of a message now. Returns whether the attempt exists. */
  async expungeAttempt(appId: string, msgId: string, attemptId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('attempt')
      .set({ response: '' })
      .where('app_id', '=', appId)
      .where('msg_id', '=', msgId)
      .where('id', '=', attemptId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Deletes up to `limit` idempotency keys that expired before `now`. Returns how many. */
  async deleteExpiredIdempotencyKeys(now: number, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('idempotency_key')
      .where((eb) =>
        eb(
          eb.refTuple('scope', 'key'),
          'in',
          eb.selectFrom('idempotency_key').select(['scope', 'key']).where('expires_at', '<', now).limit(limit).$asTuple('scope', 'key'),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Returns free pages of a SQLite file to the file system: `pages` pages of incremental
   * vacuum, then a checkpoint that truncates the write-ahead log. Does nothing on PostgreSQL,
   * where autovacuum reuses the space of updated and deleted rows.
   */
  async shrinkFile(pages: number): Promise<void> {
    const sqlite = this.sqlite;
    if (this.dialect !== 'sqlite' || sqlite === undefined) {
      return;
    }
    // Holding Kysely's only connection keeps other queries, and their transactions, out meanwhile.
    await this.db.connection().execute(async () => {
      sqlite.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      sqlite.pragma('wal_checkpoint(truncate)');
    });
  }

  /** Tells whether the SQLite file can shrink by incremental vacuum (auto_vacuum = incremental). */
  async incrementalVacuumEnabled(): Promise<boolean> {
    if (this.dialect !== 'sqlite') {
      return false;
    }
    const result = await sql<{ auto_vacuum: number }>`pragma auto_vacuum`.execute(this.db);
    return Number(result.rows[0]?.auto_vacuum) === 2;
  }

  /**
   * Switches an existing SQLite file to incremental vacuum. SQLite applies the mode only
   * through a full VACUUM, which rewrites the file once and blocks writers while it runs.
   */
  async enableIncrementalVacuum(): Promise<void> {
    await sql`pragma auto_vacuum = incremental`.execute(this.db);
    await sql`vacuum`.execute(this.db);
  }

  private async expungeMessages(ids: string[]): Promise<void> {
    if (ids.length === 0) {
      return;
    }
    await this.db.updateTable('message').set({ payload: expungedPayload }).where('id', 'in', ids).execute();
  }

  private async runStep(
    step: RetentionStep,
    limit: number,
    batch: (from: Position) => Promise<{ id: string; time: number | string }[]>,
  ): Promise<number> {
    const stored = await this.db.selectFrom('retention_progress').select(['position', 'last_id']).where('name', '=', step).executeTakeFirst();
    const from = stored === undefined ? start : { position: Number(stored.position), lastId: stored.last_id };
    const rows = await batch(from);
    const last = rows.at(-1);
    if (last === undefined) {
      return 0;
    }

    const position = Number(last.time);
    await this.db
      .insertInto('retention_progress')
      .values({ name: step, position, last_id: last.id })
      .onConflict((conflict) => conflict.column('name').doUpdateSet({ position, last_id: last.id }))
      .execute();
    return Math.min(rows.length, limit);
  }
}
