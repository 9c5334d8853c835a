import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Precompiled } from '../../src/store/precompiled.js';
import { describeEveryStore, withStore } from './store-suite.js';

const t0 = 1_700_000_000_000;

const insertApplication = new Precompiled(3, (db, id: string, uid: string | null, name: string) =>
  db.insertInto('application').values({ id, uid, name, throttle_rate: null, metadata: '{}', created_at: t0, updated_at: t0 }),
);
const selectNamed = new Precompiled(2, (db, name: string, limit: number) =>
  db.selectFrom('application').select(['id', 'uid', 'created_at']).where('name', '=', name).orderBy('id').limit(limit),
);

describeEveryStore('precompiled queries', (open) => {
  test('binds new parameters on each run', async (context) => {
    const store = await withStore(open, context);
    await insertApplication.execute(store.db, 'app_pre_1', 'first', 'shared');
    await store.db.transaction().execute(async (transaction) => {
      await insertApplication.execute(transaction, 'app_pre_2', null, 'shared');
      await insertApplication.execute(transaction, 'app_pre_3', 'third', 'other');
    });

    const shared = await selectNamed.execute(store.db, 'shared', 10);
    assert.deepEqual(
      shared.rows.map((row) => [row.id, row.uid, Number(row.created_at)]),
      [
        ['app_pre_1', 'first', t0],
        ['app_pre_2', null, t0],
      ],
    );
    assert.deepEqual(
      (await selectNamed.execute(store.db, 'shared', 1)).rows.map((row) => row.id),
      ['app_pre_1'],
    );
    assert.deepEqual(
      (await selectNamed.execute(store.db, 'other', 10)).rows.map((row) => row.id),
      ['app_pre_3'],
    );
  });

  test('rejects a query with unused parameters', async (context) => {
    const store = await withStore(open, context);
    const unused = new Precompiled(2, (db, id: string, _name: string) => db.selectFrom('application').select('id').where('id', '=', id));
    await assert.rejects(unused.execute(store.db, 'app_pre_1', 'ignored'), /used 1 of its 2 parameters/);
  });
});
