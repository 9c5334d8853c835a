import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { createTestStore, dropSchema, storeDrivers, testDatabaseUrl } from '../helpers/store.js';

test('migrations run again as a no-op on SQLite', async () => {
  const store = await createTestStore();
  try {
    assert.deepEqual(await migrateToLatest(store.db, 'sqlite'), []);
    const second = openSqlite(store.path);
    assert.deepEqual(await migrateToLatest(second.db, 'sqlite'), []);
    await second.db.destroy();
  } finally {
    await store.destroy();
  }
});

test('concurrent migrations apply once on PostgreSQL', async (context) => {
  const postgres = storeDrivers.find((driver) => driver.name === 'postgres');
  const reason = await postgres?.unavailable();
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }

  const schema = `hookline_test_${randomBytes(6).toString('hex')}`;
  const connections = await Promise.all(
    Array.from({ length: 4 }, () => openPostgres(testDatabaseUrl, { poolSize: 2, schema })),
  );
  try {
    const results = await Promise.all(connections.map(({ db }) => migrateToLatest(db, 'postgres')));
    const applied = results.flat();
    assert.deepEqual(applied.sort(), ['0001-initial', '0002-outbox', '0003-recovery-indexes', '0004-endpoint-health', '0006-observability', '0007-message-stream', '0008-job-visibility', '0009-attempt-delivery-index']);
    const rows = await connections[0]?.db.selectFrom('hookline_migration' as never).selectAll().execute();
    assert.equal(rows?.length, applied.length);
  } finally {
    await Promise.all(connections.map(({ db }) => db.destroy()));
    await dropSchema(schema);
  }
});
