import type { Config } from '../config/load.js';
import { migrateToLatest } from '../store/migrate.js';
import { openPostgres } from '../store/postgres.js';
import { openSqlite } from '../store/sqlite.js';
import { sqlitePath, storeDialect } from './open-store.js';

/** Applies pending migrations to the configured store and returns their names. */
export async function migrateStore(config: Readonly<Config>): Promise<string[]> {
  const dialect = storeDialect(config);
  const db =
    dialect === 'postgres'
      ? (await openPostgres(config.databaseUrl ?? '', { poolSize: 1 })).db
      : openSqlite(sqlitePath(config)).db;
  try {
    return await migrateToLatest(db, dialect);
  } finally {
    await db.destroy();
  }
}
