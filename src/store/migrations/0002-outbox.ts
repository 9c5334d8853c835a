import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Creates the outbox: jobs for a queue outside the database, written in the same
 * transaction as the rows they refer to and moved to the queue by a relay.
 */
export function outboxMigration(dialect: Dialect): Migration {
  // SQLite numbers an INTEGER PRIMARY KEY by itself; PostgreSQL needs a sequence.
  const sequence = dialect === 'postgres' ? 'bigserial' : 'integer';

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('outbox')
        .addColumn('seq', sql.raw(sequence), (column) => column.primaryKey())
        .addColumn('queue', 'text', (column) => column.notNull())
        .addColumn('job_id', 'text', (column) => column.notNull())
        .addColumn('data', 'text', (column) => column.notNull())
        .addColumn('run_at', 'bigint', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
    },
  };
}
