import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { migrateToLatest } from '../../src/store/migrate.js';
import type { Database } from '../../src/store/schema.js';
import { openSqlite } from '../../src/store/sqlite.js';

export interface TestStore {
  db: Kysely<Database>;
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
    path,
    async destroy() {
      await db.destroy();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
