import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Adds `job.visible_at`: the time from which a job may be claimed, which is its run time
 * while no consumer holds it and its lease end while one does. Claims then read only the
 * claimable rows, in order, from one index; before, they walked past every leased row whose
 * run time had passed, so a claim cost grew with the number of running jobs.
 */
export function jobVisibilityMigration(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('job').addColumn('visible_at', 'bigint').execute();
      await sql`update job set visible_at = case when lease_until is not null and lease_until > run_at then lease_until else run_at end`.execute(db);
      await db.schema.createIndex('job_visible').on('job').columns(['queue', 'visible_at']).execute();
      await db.schema.dropIndex('job_due').execute();
    },
  };
}
