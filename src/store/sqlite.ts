import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';

/** Opens (and creates) a SQLite database file in WAL mode for the store. */
export function openSqlite(path: string): { db: Kysely<Database>; raw: SqliteDatabase.Database } {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // The database contains signing secrets. SQLite gives its -wal and -shm files the mode of
    // the database file, so creating the file as 0600 first protects all three.
    closeSync(openSync(path, 'a', 0o600));
  }

  const raw = new SqliteDatabase(path);
  // Lets the retention job return freed pages to the file system. SQLite applies this only
  // to a file without tables; older files are converted by the retention job's first VACUUM.
  raw.pragma('auto_vacuum = INCREMENTAL');
  raw.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only a power loss can drop
  // the last transactions, which FULL would also flush.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');

  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return { db, raw };
}

/** Prepared statements kept per connection; queries beyond this many distinct texts are prepared again. */
const statementCacheSize = 500;

/**
 * Returns the connection with `prepare` cached by SQL text. Kysely prepares every query it
 * runs, and preparing costs about as much as running a small statement. Kysely runs each
 * statement to completion before the next, so one statement object is never used twice at once.
 */
function withStatementCache(raw: SqliteDatabase.Database): SqliteDatabase.Database {
  const cache = new Map<string, SqliteDatabase.Statement>();
  const prepare = raw.prepare.bind(raw);
  return new Proxy(raw, {
    get(target, property, receiver) {
      if (property !== 'prepare') {
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return (source: string) => {
        let statement = cache.get(source);
        if (statement === undefined) {
          statement = prepare(source);
          if (cache.size >= statementCacheSize) {
            const oldest = cache.keys().next().value;
            if (oldest !== undefined) {
              cache.delete(oldest);
            }
          }
          cache.set(source, statement);
        }
        return statement;
      };
    },
  });
}
