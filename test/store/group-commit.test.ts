import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kysely, Transaction } from 'kysely';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { Database } from '../../src/store/schema.js';
import { describeEveryStore, withStore } from './store-suite.js';

const t0 = 1_700_000_000_000;

function insertApplication(executor: Kysely<Database>, id: string) {
  return executor
    .insertInto('application')
    .values({ id, uid: null, name: `App ${id}`, throttle_rate: null, metadata: '{}', created_at: t0, updated_at: t0 })
    .execute();
}

async function applicationIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('application').select('id').orderBy('id').execute();
  return rows.map((row) => row.id);
}

describeEveryStore('group commit', (open) => {
  test('shares one transaction per turn', async (context) => {
    const store = await withStore(open, context);
    const committer = new GroupCommitter(store.db);
    const transactions = new Set<Transaction<Database>>();
    const ids = Array.from({ length: 20 }, (_, index) => `app_group_${String(index).padStart(2, '0')}`);

    const visibleAtResolve = await Promise.all(
      ids.map(async (id) => {
        const returned = await committer.run(async (transaction) => {
          transactions.add(transaction);
          await insertApplication(transaction, id);
          return id;
        });
        assert.equal(returned, id);
        // Read outside the transaction: the row must already be committed.
        const row = await store.db.selectFrom('application').select('id').where('id', '=', id).executeTakeFirst();
        return row?.id;
      }),
    );

    assert.deepEqual(visibleAtResolve, ids);
    assert.equal(transactions.size, 1, 'the units did not share one transaction');
    assert.deepEqual(await applicationIds(store.db), ids);
  });

  test('rejects only the failing unit', async (context) => {
    const store = await withStore(open, context);
    await insertApplication(store.db, 'app_group_taken');
    const committer = new GroupCommitter(store.db);

    const results = await Promise.allSettled([
      committer.run((transaction) => insertApplication(transaction, 'app_group_first')),
      committer.run((transaction) => insertApplication(transaction, 'app_group_taken')),
      committer.run((transaction) => insertApplication(transaction, 'app_group_last')),
    ]);

    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(await applicationIds(store.db), ['app_group_first', 'app_group_last', 'app_group_taken']);
  });

  test('splits groups at the limit', async (context) => {
    const store = await withStore(open, context);
    const committer = new GroupCommitter(store.db, 4);
    const transactions = new Set<Transaction<Database>>();
    const ids = Array.from({ length: 10 }, (_, index) => `app_split_${String(index).padStart(2, '0')}`);

    await Promise.all(
      ids.map((id) =>
        committer.run(async (transaction) => {
          transactions.add(transaction);
          await insertApplication(transaction, id);
        }),
      ),
    );

    assert.equal(transactions.size, 3);
    assert.deepEqual(await applicationIds(store.db), ids);
  });
});
