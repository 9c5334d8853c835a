import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './dialect.js';
import { initialMigration } from './migrations/0001-initial.js';
import { outboxMigration } from './migrations/0002-outbox.js';
import { recoveryMigration } from './migrations/0003-recovery-indexes.js';
import type { Database } from './schema.js';

function migrationsFor(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-initial': initialMigration(dialect),
    '0002-outbox': outboxMigration(dialect),
    '0003-recovery-indexes': recoveryMigration(),
  };
}

class InCodeMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return migrationsFor(this.dialect);
  }
}

/** Applies every pending migration. Throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>, dialect: Dialect): Promise<string[]> {
  // Kysely looks for its migration tables in every schema unless told which one; with
  // several schemas in one database it would find another schema's tables and skip its own.
  let migrationTableSchema: string | undefined;
  if (dialect === 'postgres') {
    const result = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = result.rows[0]?.schema;
  }

  const migrator = new Migrator({
    db,
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
    provider: new InCodeMigrationProvider(dialect),
    migrationTableName: 'hookline_migration',
    migrationLockTableName: 'hookline_migration_lock',
  });

  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((result) => result.status === 'Error');
  if (error) {
    const name = failed ? ` ${failed.migrationName}` : '';
    throw new Error(`Migration${name} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
