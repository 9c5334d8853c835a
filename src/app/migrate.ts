import { join, resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { migrateToLatest } from '../store/migrate.js';
import { openSqlite } from '../store/sqlite.js';

/** Path of the SQLite database: DATABASE_URL's sqlite:PATH, else hookline.db in the data folder. */
export function sqlitePath(config: Readonly<Config>): string {
  return config.databaseUrl ? config.databaseUrl.slice('sqlite:'.length) : join(resolve(config.dataDir), 'hookline.db');
}

/** Applies pending migrations to the configured store and returns their names. */
export async function migrateStore(config: Readonly<Config>): Promise<string[]> {
  const { db } = openSqlite(sqlitePath(config));
  try {
    return await migrateToLatest(db, 'sqlite');
  } finally {
    await db.destroy();
  }
}
