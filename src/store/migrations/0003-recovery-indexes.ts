import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

/**
 * Marks messages whose fan-out finished and indexes what the recovery sweep looks for:
 * messages not fanned out yet and unfinished deliveries by their next attempt time.
 */
export function recoveryMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('message').addColumn('fanned_out', 'integer', (column) => column.notNull().defaultTo(0)).execute();
      // Messages stored before this migration were fanned out by the queue that held their job.
      await sql`update message set fanned_out = 1`.execute(db);
      await db.schema
        .createIndex('message_not_fanned_out')
        .on('message')
        .column('created_at')
        .where(sql.ref('fanned_out'), '=', 0)
        .execute();
      await db.schema.createIndex('delivery_unfinished').on('delivery').columns(['status', 'next_attempt_at']).execute();
    },
  };
}
