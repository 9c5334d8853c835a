import { join, resolve } from 'node:path';
import type { Config } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import type { Dialect } from '../store/dialect.js';
import { migrateToLatest } from '../store/migrate.js';
import { openPostgres } from '../store/postgres.js';
import { SecretCipher } from '../store/secret-cipher.js';
import { discardPlaintextCopies, encryptStoredSecrets } from '../store/secret-encryption.js';
import { openSqlite } from '../store/sqlite.js';
import { createStore, type Store } from '../store/store.js';

/** Path of the SQLite database: DATABASE_URL's sqlite:PATH, else hookline.db in the data folder. */
export function sqlitePath(config: Readonly<Config>): string {
  return config.databaseUrl?.startsWith('sqlite:')
    ? config.databaseUrl.slice('sqlite:'.length)
    : join(resolve(config.dataDir), 'hookline.db');
}

export function storeDialect(config: Readonly<Config>): Dialect {
  return config.databaseUrl !== undefined && /^postgres(ql)?:/.test(config.databaseUrl) ? 'postgres' : 'sqlite';
}

/** Describes the store for logs, without credentials. */
export function describeStore(config: Readonly<Config>): string {
  if (storeDialect(config) === 'sqlite') {
    return `sqlite:${sqlitePath(config)}`;
  }
  const url = new URL(config.databaseUrl ?? '');
  return `postgres://${url.host}${url.pathname}`;
}

/**
 * Opens the configured store, applies pending migrations and encrypts stored signing
 * secrets when HOOKLINE_ENCRYPTION_KEY is set. On PostgreSQL the migrator holds an
 * advisory lock, so processes that start together migrate once.
 */
export async function openStore(config: Readonly<Config>, logger: Logger): Promise<Store> {
  const dialect = storeDialect(config);
  const sqlite = dialect === 'sqlite' ? openSqlite(sqlitePath(config)) : undefined;
  const db =
    sqlite?.db ??
    (
      await openPostgres(config.databaseUrl ?? '', {
        poolSize: config.databasePoolSize,
        onError: (error) => logger.warn({ err: error }, 'An idle PostgreSQL connection failed; the pool replaces it'),
      })
    ).db;

  const cipher = config.encryptionKey === undefined ? undefined : new SecretCipher(config.encryptionKey);
  try {
    const applied = await migrateToLatest(db, dialect);
    if (applied.length > 0) {
      logger.info({ migrations: applied, store: describeStore(config) }, 'Database migrated');
    }
    const encrypted = await encryptStoredSecrets(db, cipher);
    if (encrypted > 0) {
      logger.info({ secrets: encrypted, keyId: cipher?.currentKeyId }, 'Encrypted stored signing secrets with the current HOOKLINE_ENCRYPTION_KEY');
      await discardPlaintextCopies(db, dialect);
      logger.info({ store: describeStore(config) }, 'Rewrote the database so that no earlier copy of the secrets remains in free pages');
    }
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createStore(db, dialect, { cipher, sqlite: sqlite?.raw });
}
