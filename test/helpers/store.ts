import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Dialect } from '../../src/store/dialect.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres.js';
import type { Database } from '../../src/store/schema.js';
import { openSqlite } from '../../src/store/sqlite.js';

/** PostgreSQL server of the tests; each test store gets a schema of its own there. */
export const testDatabaseUrl = process.env.HOOKLINE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite file path, or the PostgreSQL schema name. */
  path: string;
  destroy(): Promise<void>;
}

/** Creates a migrated SQLite store in a new temporary folder. */
export async function createTestStore(): Promise<TestStore> {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-store-'));
  const path = join(folder, 'hookline.db');
  const { db } = openSqlite(path);
  await migrateToLatest(db, 'sqlite');
  return {
    db,
    dialect: 'sqlite',
    path,
    async destroy() {
      await db.destroy();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Creates a migrated PostgreSQL store in a new schema, dropped again by destroy(). */
export async function createPostgresTestStore(): Promise<TestStore> {
  const schema = `hookline_test_${randomBytes(6).toString('hex')}`;
  const { db } = await openPostgres(testDatabaseUrl, { poolSize: 5, schema });
  try {
    await migrateToLatest(db, 'postgres');
  } catch (error) {
    await db.destroy();
    await dropSchema(schema);
    throw error;
  }
  return {
    db,
    dialect: 'postgres',
    path: schema,
    async destroy() {
      await db.destroy();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

/** Tells whether the test PostgreSQL server responds. */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface StoreDriver {
  name: Dialect;
  create(): Promise<TestStore>;
  /** Why the driver cannot run here, or undefined when it can. Under CI=true a missing service fails instead. */
  unavailable(): Promise<string | undefined>;
}

/** Every store driver, for suites that run once per driver. */
export const storeDrivers: StoreDriver[] = [
  { name: 'sqlite', create: createTestStore, unavailable: async () => undefined },
  {
    name: 'postgres',
    create: createPostgresTestStore,
    unavailable: async () => {
      if (await postgresAvailable()) {
        return undefined;
      }
      const reason = `PostgreSQL is not reachable at ${testDatabaseUrl}`;
      if (process.env.CI === 'true') {
        throw new Error(`${reason}; CI must run every store suite.`);
      }
      return reason;
    },
  },
];
