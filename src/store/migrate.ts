import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from './dialect.js';
import { initialMigration } from './migrations/0001-initial.js';
import { outboxMigration } from './migrations/0002-outbox.js';
import { recoveryMigration } from './migrations/0003-recovery-indexes.js';
import { endpointHealthMigration } from './migrations/0004-endpoint-health.js';
import { messageStreamMigration } from './migrations/0007-message-stream.js';
import { jobVisibilityMigration } from './migrations/0008-job-visibility.js';
import { attemptDeliveryIndexMigration } from './migrations/0009-attempt-delivery-index.js';
import { observabilityMigration } from './migrations/0006-observability.js';
import type { Database } from './schema.js';

/** Lists every migration in the order it is applied. Names are stored, so they never change. */
function migrationsFor(dialect: Dialect): [name: string, migration: Migration][] {
  return [
    ['0001-initial', initialMigration(dialect)],
    ['0002-outbox', outboxMigration(dialect)],
    ['0003-recovery-indexes', recoveryMigration()],
    ['0004-endpoint-health', endpointHealthMigration()],
    ['0006-observability', observabilityMigration()],
    ['0007-message-stream', messageStreamMigration(dialect)],
    ['0008-job-visibility', jobVisibilityMigration()],
    ['0009-attempt-delivery-index', attemptDeliveryIndexMigration()],
  ];
}

/** Key of the PostgreSQL advisory lock that serializes migrations between processes. */
const migrationLockKey = 7_130_501_001;

/**
 * Applies every pending migration in one transaction and returns the names applied.
 * Processes that start together migrate once: PostgreSQL serializes them with an advisory
 * lock, SQLite with a write transaction taken at the start. The table `hookline_migration`
 * lists what was applied.
 *
 * This runs its own short loop instead of Kysely's Migrator, because the Migrator
 * introspects every schema of the database, which fails when another schema is dropped
 * at the same moment (as parallel tests do).
 */
export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  return db.connection().execute(async (connection) => {
    if (dialect === 'postgres') {
      await sql`begin`.execute(connection);
      await sql`select pg_advisory_xact_lock(${migrationLockKey})`.execute(connection);
    } else {
      await sql`begin immediate`.execute(connection);
    }

    let current = '';
    try {
      await sql`create table if not exists hookline_migration (name varchar(255) primary key, timestamp varchar(255) not null)`.execute(
        connection,
      );
      const rows = await sql<{ name: string }>`select name from hookline_migration`.execute(connection);
      const applied = new Set(rows.rows.map((row) => row.name));

      const names: string[] = [];
      for (const [name, migration] of migrationsFor(dialect)) {
        if (applied.has(name)) {
          continue;
        }
        current = name;
        await migration.up(connection as Kysely<unknown>);
        await sql`insert into hookline_migration (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(connection);
        names.push(name);
      }

      await sql`commit`.execute(connection);
      return names;
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => undefined);
      const failedName = current === '' ? '' : ` ${current}`;
      throw new Error(`Migration${failedName} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  });
}

/** Returns the names of the migrations that the database has not applied, for readiness checks. */
export async function pendingMigrations(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  const rows = await sql<{ name: string }>`select name from hookline_migration`.execute(db);
  const applied = new Set(rows.rows.map((row) => row.name));
  return migrationsFor(dialect)
    .map(([name]) => name)
    .filter((name) => !applied.has(name));
}
