import type { Kysely, Migration } from 'kysely';

/**
 * Indexes attempts by delivery. After a retried delivery succeeds, the endpoint health
 * tracker counts the delivery's failed attempts since its last success; without this
 * index each count read the whole attempt table.
 */
export function attemptDeliveryIndexMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('attempt_delivery').on('attempt').columns(['delivery_id', 'id']).execute();
    },
  };
}
