import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { MemoryState } from '../../src/cache/memory-state.js';
import { RecoverySweep } from '../../src/core/recovery-sweep.js';
import { EmbeddedQueue } from '../../src/queue/embedded-queue.js';
import { createId } from '../../src/store/ids.js';
import { DeliveryStatus } from '../../src/store/records.js';
import { createStore } from '../../src/store/store.js';
import { createTestStore } from '../helpers/store.js';

const now = 1_800_000_000_000;
const graceMs = 60_000;

async function setUp(batchSize?: number) {
  const testStore = await createTestStore();
  const store = createStore(testStore.db, testStore.dialect);
  const logger = pino({ level: 'silent' });
  const queue = new EmbeddedQueue({ db: store.db, leaseMs: 5_000, pollIntervalMs: 1_000, logger, now: () => now });
  const state = new MemoryState(() => now);
  const sweep = new RecoverySweep({ store, queue, state, logger, clock: () => now, intervalMs: 10_000, graceMs, ...(batchSize ? { batchSize } : {}) });
  return {
    store,
    queue,
    sweep,
    async destroy() {
      await queue.close(0);
      await testStore.destroy();
    },
  };
}

async function insertMessage(store: ReturnType<typeof createStore>, createdAt: number, fannedOut: boolean): Promise<string> {
  const id = createId('msg', createdAt);
  await store.db
    .insertInto('message')
    .values({
      id,
      app_id: 'app_x',
      event_type: 'trap.set',
      event_id: null,
      payload: Buffer.from('{}'),
      channels: null,
      tags: null,
      created_at: createdAt,
      fanned_out: fannedOut ? 1 : 0,
    })
    .execute();
  return id;
}

async function insertDelivery(store: ReturnType<typeof createStore>, status: DeliveryStatus, nextAttemptAt: number | null): Promise<string> {
  const id = createId('dlv', now);
  await store.db
    .insertInto('delivery')
    .values({
      id,
      msg_id: createId('msg', now),
      endpoint_id: 'ep_x',
      app_id: 'app_x',
      status,
      attempt_count: 1,
      next_attempt_at: nextAttemptAt,
      created_at: now - 3_600_000,
      updated_at: now - 3_600_000,
    })
    .execute();
  return id;
}

async function jobIds(store: ReturnType<typeof createStore>, queue: string): Promise<string[]> {
  const rows = await store.db.selectFrom('job').select('id').where('queue', '=', queue).orderBy('id').execute();
  return rows.map((row) => row.id);
}

test('RecoverySweep queues lost fan-outs and overdue deliveries', async (context) => {
  const { store, sweep, destroy } = await setUp();
  context.after(destroy);

  const lostFanOut = await insertMessage(store, now - 2 * graceMs, false);
  await insertMessage(store, now - 2 * graceMs, true);
  await insertMessage(store, now - graceMs / 2, false);
  const overduePending = await insertDelivery(store, DeliveryStatus.pending, now - 2 * graceMs);
  const overdueSending = await insertDelivery(store, DeliveryStatus.sending, now - 2 * graceMs);
  await insertDelivery(store, DeliveryStatus.pending, now - graceMs / 2);
  await insertDelivery(store, DeliveryStatus.pending, now + 60_000);
  await insertDelivery(store, DeliveryStatus.success, null);
  await insertDelivery(store, DeliveryStatus.fail, null);

  assert.deepEqual(await sweep.sweep(), { fanOuts: 1, deliveries: 2 });
  assert.deepEqual(await jobIds(store, 'events'), [lostFanOut]);
  assert.deepEqual(await jobIds(store, 'webhooks'), [overduePending, overdueSending].sort());
});

test('RecoverySweep leaves existing jobs in place', async (context) => {
  const { store, queue, sweep, destroy } = await setUp();
  context.after(destroy);

  const delivery = await insertDelivery(store, DeliveryStatus.pending, now - 2 * graceMs);
  await queue.add('webhooks', [{ id: delivery, data: { deliveryId: delivery, trigger: 1 }, runAt: now + 5_000 }]);
  const before = await store.db.selectFrom('job').selectAll().where('id', '=', delivery).executeTakeFirstOrThrow();

  assert.deepEqual(await sweep.sweep(), { fanOuts: 0, deliveries: 0 });
  const after = await store.db.selectFrom('job').selectAll().where('id', '=', delivery).executeTakeFirstOrThrow();
  assert.deepEqual(after, before);
});

test('RecoverySweep runs in one process at a time', async (context) => {
  const { store, sweep, destroy } = await setUp();
  context.after(destroy);

  await insertMessage(store, now - 2 * graceMs, false);
  const results = await Promise.all([sweep.sweep(), sweep.sweep()]);
  assert.deepEqual(
    results.map((result) => result.fanOuts).sort(),
    [0, 1],
  );
});

test('RecoverySweep pages past live jobs', async (context) => {
  const { store, queue, sweep, destroy } = await setUp(2);
  context.after(destroy);

  const overdue = [];
  for (let index = 0; index < 7; index += 1) {
    overdue.push(await insertDelivery(store, DeliveryStatus.pending, now - 2 * graceMs - index));
  }
  // The oldest ones still have jobs, so the first pages hold nothing to add.
  const withJobs = overdue.slice(-4);
  await queue.add('webhooks', withJobs.map((id) => ({ id, data: { deliveryId: id, trigger: 0 }, runAt: now + 5_000 })));

  assert.deepEqual(await sweep.sweep(), { fanOuts: 0, deliveries: 3 });
  assert.deepEqual(await jobIds(store, 'webhooks'), [...overdue].sort());
});
