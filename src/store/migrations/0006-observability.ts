import { sql, type Kysely, type Migration } from 'kysely';

/** Upper bounds, in milliseconds, of the latency bins of `attempt_stat`; the last bin has no bound. */
export const latencyBinBounds = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000] as const;

/** Column of `attempt_stat` that counts the attempts of latency bin `index`. */
export function latencyBinColumn(index: number): `lat_${number}` {
  return `lat_${index}`;
}

/**
 * Adds what statistics and retention need: the `attempt_stat` table of attempt counts and
 * latency bins per endpoint and time bucket, updated as attempts finish; a per-message
 * payload expiry; indexes by creation time for the retention job; and `retention_progress`,
 * where that job keeps how far it got, so no run scans rows that an earlier run handled.
 */
export function observabilityMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      let stats = db.schema
        .createTable('attempt_stat')
        .addColumn('endpoint_id', 'text', (column) => column.notNull())
        .addColumn('granularity', 'text', (column) => column.notNull())
        .addColumn('bucket_start', 'bigint', (column) => column.notNull())
        .addColumn('app_id', 'text', (column) => column.notNull())
        .addColumn('success', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('fail', 'bigint', (column) => column.notNull().defaultTo(0));
      for (let index = 0; index <= latencyBinBounds.length; index += 1) {
        stats = stats.addColumn(latencyBinColumn(index), 'bigint', (column) => column.notNull().defaultTo(0));
      }
      await stats.addPrimaryKeyConstraint('attempt_stat_pk', ['endpoint_id', 'granularity', 'bucket_start']).execute();
      await db.schema.createIndex('attempt_stat_app').on('attempt_stat').columns(['app_id', 'granularity', 'bucket_start']).execute();
      await db.schema.createIndex('attempt_stat_time').on('attempt_stat').columns(['granularity', 'bucket_start']).execute();

      await db.schema.alterTable('message').addColumn('payload_expires_at', 'bigint').execute();
      await db.schema
        .createIndex('message_payload_expires')
        .on('message')
        .column('payload_expires_at')
        .where(sql.ref('payload_expires_at'), 'is not', null)
        .execute();
      await db.schema.createIndex('message_created').on('message').column('created_at').execute();
      await db.schema.createIndex('attempt_created').on('attempt').column('created_at').execute();

      await db.schema
        .createTable('retention_progress')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('position', 'bigint', (column) => column.notNull())
        .addColumn('last_id', 'text', (column) => column.notNull())
        .execute();
    },
  };
}
