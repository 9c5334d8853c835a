import type { Kysely, Migration } from 'kysely';

/**
 * Creates `endpoint_health`: since when an endpoint has failed without a success, and
 * when and why it was disabled automatically. The circuit breaker's counters live in the
 * shared state; this table keeps what must outlast a restart of Redis or of the process.
 */
export function endpointHealthMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('endpoint_health')
        .addColumn('endpoint_id', 'text', (column) => column.primaryKey())
        .addColumn('failing_since', 'bigint')
        .addColumn('disabled_at', 'bigint')
        .addColumn('disabled_reason', 'text')
        .execute();
    },
  };
}
