import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

/** Opens (and creates) a SQLite database file in WAL mode for the store. */
export function openSqlite(path: string): { db: Kysely<Database>; raw: SqliteDatabase.Database } {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
  }

  const raw = new SqliteDatabase(path);
  raw.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only a power loss can drop
  // the last transactions, which FULL would also flush.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');

  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  return { db, raw };
}
