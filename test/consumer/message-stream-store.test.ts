import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createId } from '../../src/store/ids.js';
import type { Message } from '../../src/store/records.js';
import { streamStart } from '../../src/store/repositories/message-stream.js';
import { createStore, type Store } from '../../src/store/store.js';
import { waitFor } from '../helpers/hookline.js';
import { storeDrivers } from '../helpers/store.js';

function message(appId: string, eventType = 'trap.set'): Message {
  const now = Date.now();
  return {
    id: createId('msg', now),
    appId,
    eventType,
    eventId: null,
    payload: Buffer.from('{}'),
    channels: null,
    tags: null,
    createdAt: now,
  };
}

/**
 * Waits until the stream's released end reaches the newest message. On PostgreSQL any open
 * transaction of the cluster, such as another test's, keeps the end back for a moment.
 */
async function waitForRelease(store: Store, appId: string): Promise<void> {
  await waitFor(async () => !(await store.messageStream.read({ appId, after: streamStart, limit: 1 })).unreleased, 10_000, 'release');
}

async function insert(store: Store, msg: Message): Promise<void> {
  await store.db.transaction().execute((transaction) => store.messages.insert(msg, transaction));
}

for (const driver of storeDrivers) {
  describe(`MessageStreamRepository on ${driver.name}`, async () => {
    const reason = await driver.unavailable();
    if (reason !== undefined) {
      test(`skipped: ${reason}`, { skip: reason }, () => {});
      return;
    }

    test('reads in insert order and pages by position', async (context) => {
      const testStore = await driver.create();
      context.after(() => testStore.destroy());
      const store = createStore(testStore.db, testStore.dialect);
      const sent = [message('app_a'), message('app_b'), message('app_a'), message('app_a')];
      for (const msg of sent) {
        await insert(store, msg);
      }
      await waitForRelease(store, 'app_a');

      const first = await store.messageStream.read({ appId: 'app_a', after: streamStart, limit: 2 });
      assert.deepEqual(
        first.items.map((item) => item.message.id),
        [sent[0]?.id, sent[2]?.id],
      );
      assert.equal(first.done, false);
      const second = await store.messageStream.read({ appId: 'app_a', after: first.position, limit: 2 });
      assert.deepEqual(
        second.items.map((item) => item.message.id),
        [sent[3]?.id],
      );
      assert.equal(second.done, true);
      assert.equal(second.position, await store.messageStream.end('app_a'));
      assert.equal(store.messageStream.isPosition(second.position), true);
      assert.equal(store.messageStream.isPosition('not-a-position'), false);
    });
  });
}

describe('MessageStreamRepository on postgres with concurrent transactions', async () => {
  const postgres = storeDrivers.find((driver) => driver.name === 'postgres');
  const reason = await postgres?.unavailable();
  if (reason !== undefined || postgres === undefined) {
    test(`skipped: ${reason}`, { skip: reason }, () => {});
    return;
  }

  test('holds back messages committed before an older open transaction', async (context) => {
    const testStore = await postgres.create();
    context.after(() => testStore.destroy());
    const store = createStore(testStore.db, testStore.dialect);

    // The older transaction inserts first but commits last.
    const older = message('app_a');
    let releaseOlder: () => void = () => undefined;
    const olderMayCommit = new Promise<void>((resolve) => {
      releaseOlder = resolve;
    });
    let olderInserted: () => void = () => undefined;
    const olderHasInserted = new Promise<void>((resolve) => {
      olderInserted = resolve;
    });
    const olderTransaction = store.db.transaction().execute(async (transaction) => {
      await store.messages.insert(older, transaction);
      olderInserted();
      await olderMayCommit;
    });
    await olderHasInserted;
    const newer = message('app_a');
    await insert(store, newer);

    const whileOpen = await store.messageStream.read({ appId: 'app_a', after: streamStart, limit: 10 });
    assert.deepEqual(whileOpen.items, []);
    assert.equal(whileOpen.unreleased, true);
    assert.equal(whileOpen.position, streamStart);

    releaseOlder();
    await olderTransaction;
    await waitForRelease(store, 'app_a');
    const afterCommit = await store.messageStream.read({ appId: 'app_a', after: whileOpen.position, limit: 10 });
    assert.deepEqual(
      afterCommit.items.map((item) => item.message.id),
      [older.id, newer.id],
    );
    assert.equal(afterCommit.unreleased, false);
  });
});
