import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createId } from '../../src/store/ids.js';
import { DeliveryStatus, TriggerType, type Attempt, type Delivery, type Endpoint, type Message } from '../../src/store/records.js';
import { toAttemptRow } from '../../src/store/repositories/attempts.js';
import type { Store } from '../../src/store/store.js';
import { describeEveryStore, withStore } from './store-suite.js';

const t0 = 1_700_000_000_000;

function application(uid: string | null, createdAt = t0) {
  return { id: createId('app', createdAt), uid, name: `App ${uid}`, throttleRate: null, metadata: { tier: 'gold' }, createdAt, updatedAt: createdAt };
}

function endpoint(appId: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    id: createId('ep', t0),
    appId,
    uid: null,
    url: 'https://example.com/hook',
    description: '',
    disabled: false,
    throttleRate: null,
    eventTypes: null,
    channels: null,
    metadata: {},
    headers: { 'x-custom': 'yes' },
    createdAt: t0,
    updatedAt: t0,
    ...overrides,
  };
}

function message(appId: string, overrides: Partial<Message> = {}): Message {
  const createdAt = overrides.createdAt ?? t0;
  return {
    id: createId('msg', createdAt),
    appId,
    eventType: 'trap.set',
    eventId: null,
    payload: Buffer.from('{"é":"😀\u2028"}', 'utf8'),
    channels: null,
    tags: null,
    createdAt,
    ...overrides,
  };
}

function delivery(msg: Message, endpointId: string, status: DeliveryStatus = DeliveryStatus.pending): Delivery {
  return {
    id: createId('dlv', msg.createdAt),
    msgId: msg.id,
    endpointId,
    appId: msg.appId,
    status,
    attemptCount: 0,
    nextAttemptAt: msg.createdAt,
    createdAt: msg.createdAt,
    updatedAt: msg.createdAt,
  };
}

async function insertMessage(store: Store, msg: Message): Promise<void> {
  await store.db.transaction().execute((transaction) => store.messages.insert(msg, transaction));
}

describeEveryStore('ApplicationRepository', (open) => {
  test('insert, find by id and uid, update', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);

    assert.deepEqual(await store.applications.findByIdOrUid(app.id), app);
    assert.deepEqual(await store.applications.findByIdOrUid('acme'), app);
    assert.equal(await store.applications.findByIdOrUid('missing'), undefined);

    await store.applications.update({ ...app, name: 'Renamed', throttleRate: 5, updatedAt: t0 + 1 });
    const updated = await store.applications.findByUid('acme');
    assert.equal(updated?.name, 'Renamed');
    assert.equal(updated?.throttleRate, 5);
    assert.equal(updated?.createdAt, t0);
    assert.equal(updated?.updatedAt, t0 + 1);
  });

  test('uid is unique', async (context) => {
    const store = await withStore(open, context);
    await store.applications.insert(application('same'));
    await assert.rejects(store.applications.insert(application('same')));
  });

  test('list pages in both orders', async (context) => {
    const store = await withStore(open, context);
    const apps = [];
    for (let index = 0; index < 5; index += 1) {
      const app = application(`app-${index}`, t0 + index);
      apps.push(app);
      await store.applications.insert(app);
    }

    const first = await store.applications.list({ limit: 2, order: 'ascending' });
    assert.deepEqual(first.data.map((app) => app.uid), ['app-0', 'app-1']);
    assert.equal(first.done, false);
    const second = await store.applications.list({ limit: 2, order: 'ascending', iterator: first.iterator ?? undefined });
    assert.deepEqual(second.data.map((app) => app.uid), ['app-2', 'app-3']);
    const third = await store.applications.list({ limit: 2, order: 'ascending', iterator: second.iterator ?? undefined });
    assert.deepEqual(third.data.map((app) => app.uid), ['app-4']);
    assert.equal(third.done, true);

    const descending = await store.applications.list({ limit: 10, order: 'descending' });
    assert.deepEqual(descending.data.map((app) => app.uid), ['app-4', 'app-3', 'app-2', 'app-1', 'app-0']);
  });

  test('prevIterator pages back', async (context) => {
    const store = await withStore(open, context);
    for (let index = 0; index < 5; index += 1) {
      await store.applications.insert(application(`app-${index}`, t0 + index));
    }

    const first = await store.applications.list({ limit: 2, order: 'ascending' });
    const second = await store.applications.list({ limit: 2, order: 'ascending', iterator: first.iterator ?? undefined });
    assert.deepEqual(second.data.map((app) => app.uid), ['app-2', 'app-3']);
    const back = await store.applications.list({ limit: 2, order: 'ascending', iterator: second.prevIterator ?? undefined });
    assert.deepEqual(back.data.map((app) => app.uid), ['app-0', 'app-1']);
    assert.equal(back.done, true);
  });

  test('delete removes everything of the application', async (context) => {
    const store = await withStore(open, context);
    const app = application('gone');
    const other = application('kept');
    await store.applications.insert(app);
    await store.applications.insert(other);
    const ep = endpoint(app.id);
    await store.endpoints.insert(ep, 'whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtdGVzdA==');
    const msg = message(app.id);
    await insertMessage(store, msg);
    const otherMsg = message(other.id);
    await insertMessage(store, otherMsg);

    await store.applications.deleteWithEverything(app.id);
    assert.equal(await store.applications.findByIdOrUid(app.id), undefined);
    assert.equal(await store.endpoints.findById(ep.id), undefined);
    assert.equal(await store.messages.findById(msg.id), undefined);
    assert.deepEqual(await store.endpoints.activeSecrets(ep.id, t0), []);
    assert.ok(await store.messages.findById(otherMsg.id));
  });
});

describeEveryStore('EndpointRepository', (open) => {
  test('round-trips every field', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const ep = endpoint(app.id, { uid: 'main', eventTypes: ['trap.set'], channels: ['eu'], throttleRate: 10, disabled: true });
    await store.endpoints.insert(ep, 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0');

    assert.deepEqual(await store.endpoints.findById(ep.id), ep);
    assert.deepEqual(await store.endpoints.findByIdOrUid(app.id, 'main'), ep);
    assert.equal(await store.endpoints.findByIdOrUid('app_other', 'main'), undefined);
    assert.deepEqual(await store.endpoints.listEnabled(app.id), []);
  });

  test('rotated secret signs until its grace period ends', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const ep = endpoint(app.id);
    await store.endpoints.insert(ep, 'whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9s');

    await store.endpoints.rotateSecret(ep.id, 'whsec_bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5l', t0 + 1_000, t0 + 61_000);
    const during = await store.endpoints.activeSecrets(ep.id, t0 + 2_000);
    assert.deepEqual(
      during.map((secret) => secret.secret),
      ['whsec_bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5l', 'whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9s'],
    );
    const afterGrace = await store.endpoints.activeSecrets(ep.id, t0 + 61_000);
    assert.deepEqual(afterGrace.map((secret) => secret.secret), ['whsec_bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5l']);
  });
});

describeEveryStore('MessageRepository', (open) => {
  test('payload bytes survive exactly', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const msg = message(app.id, { channels: ['eu', 'beta'], tags: ['t'], eventId: 'evt-1' });
    await insertMessage(store, msg);

    const found = await store.messages.findById(msg.id);
    assert.deepEqual(found, msg);
    assert.ok(found?.payload.equals(Buffer.from('{"é":"😀\u2028"}', 'utf8')));
    assert.deepEqual(await store.messages.findByEventId(app.id, 'evt-1'), msg);
  });

  test('eventId is unique per application', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    const other = application('other');
    await store.applications.insert(app);
    await store.applications.insert(other);
    await insertMessage(store, message(app.id, { eventId: 'same' }));
    await insertMessage(store, message(other.id, { eventId: 'same' }));
    await assert.rejects(insertMessage(store, message(app.id, { eventId: 'same' })));
  });

  test('list filters by channel, event type and time', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const a = message(app.id, { createdAt: t0 + 1, channels: ['eu'], eventType: 'trap.set' });
    const b = message(app.id, { createdAt: t0 + 2, channels: ['us'], eventType: 'trap.diffuse' });
    const c = message(app.id, { createdAt: t0 + 3, channels: null, eventType: 'trap.set' });
    for (const msg of [a, b, c]) {
      await insertMessage(store, msg);
    }

    const all = await store.messages.list(app.id, { limit: 10 });
    assert.deepEqual(all.data.map((msg) => msg.id), [c.id, b.id, a.id]);
    const eu = await store.messages.list(app.id, { limit: 10, channel: 'eu' });
    assert.deepEqual(eu.data.map((msg) => msg.id), [a.id]);
    const diffuse = await store.messages.list(app.id, { limit: 10, eventTypes: ['trap.diffuse'] });
    assert.deepEqual(diffuse.data.map((msg) => msg.id), [b.id]);
    const window = await store.messages.list(app.id, { limit: 10, after: t0 + 1, before: t0 + 3 });
    assert.deepEqual(window.data.map((msg) => msg.id), [b.id]);
    const olderPage = await store.messages.list(app.id, { limit: 1, iterator: b.id });
    assert.deepEqual(olderPage.data.map((msg) => msg.id), [a.id]);
    const newerPage = await store.messages.list(app.id, { limit: 1, iterator: olderPage.prevIterator ?? undefined });
    assert.deepEqual(newerPage.data.map((msg) => msg.id), [b.id]);
    const paged = await store.messages.list(app.id, { limit: 2 });
    assert.equal(paged.done, false);
    const rest = await store.messages.list(app.id, { limit: 2, iterator: paged.iterator ?? undefined });
    assert.deepEqual(rest.data.map((msg) => msg.id), [a.id]);
    assert.equal(rest.done, true);
  });
});

describeEveryStore('DeliveryRepository', (open) => {
  test('insertMissing skips existing pairs', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const msg = message(app.id);
    await insertMessage(store, msg);

    const first = await store.db.transaction().execute((transaction) =>
      store.deliveries.insertMissing([delivery(msg, 'ep_a'), delivery(msg, 'ep_b')], transaction),
    );
    assert.equal(first.length, 2);
    const second = await store.db.transaction().execute((transaction) =>
      store.deliveries.insertMissing([delivery(msg, 'ep_a'), delivery(msg, 'ep_c')], transaction),
    );
    assert.deepEqual(second.map((row) => row.endpointId), ['ep_c']);
    assert.equal((await store.deliveries.listByMessage(msg.id)).length, 3);
  });

  test('insertMissing handles more rows than one statement binds', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const msg = message(app.id);
    await insertMessage(store, msg);
    const many = Array.from({ length: 1_200 }, (_, index) => delivery(msg, `ep_${String(index).padStart(5, '0')}`));
    const inserted = await store.db.transaction().execute((transaction) => store.deliveries.insertMissing(many, transaction));
    assert.equal(inserted.length, 1_200);
  });

  test('counts by status and lists failed since a time', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const old = message(app.id, { createdAt: t0 });
    const recent = message(app.id, { createdAt: t0 + 10_000 });
    const good = message(app.id, { createdAt: t0 + 20_000 });
    for (const msg of [old, recent, good]) {
      await insertMessage(store, msg);
    }
    await store.db.transaction().execute((transaction) =>
      store.deliveries.insertMissing(
        [delivery(old, 'ep_x', DeliveryStatus.fail), delivery(recent, 'ep_x', DeliveryStatus.fail), delivery(good, 'ep_x', DeliveryStatus.success)],
        transaction,
      ),
    );

    assert.deepEqual(await store.deliveries.countByStatus('ep_x'), { success: 1, pending: 0, fail: 2, sending: 0 });
    const failed = await store.deliveries.listFailedSince('ep_x', t0 + 5_000, undefined);
    assert.deepEqual(failed.map((row) => row.msgId), [recent.id]);
  });
});

describeEveryStore('AttemptRepository', (open) => {
  test('lists with status and status class filters', async (context) => {
    const store = await withStore(open, context);
    const app = application('acme');
    await store.applications.insert(app);
    const msg = message(app.id, { channels: ['eu'] });
    await insertMessage(store, msg);

    const base: Omit<Attempt, 'id' | 'status' | 'responseStatusCode' | 'createdAt'> = {
      deliveryId: 'dlv_x',
      msgId: msg.id,
      endpointId: 'ep_x',
      appId: app.id,
      url: 'https://example.com/hook',
      response: 'body',
      responseDurationMs: 12,
      triggerType: TriggerType.scheduled,
      error: null,
      requestHeaders: { 'webhook-id': msg.id },
    };
    const attempts: Attempt[] = [
      { ...base, id: createId('atmpt', t0 + 1), status: DeliveryStatus.fail, responseStatusCode: 500, createdAt: t0 + 1 },
      { ...base, id: createId('atmpt', t0 + 2), status: DeliveryStatus.fail, responseStatusCode: 0, createdAt: t0 + 2, error: 'timeout' },
      { ...base, id: createId('atmpt', t0 + 3), status: DeliveryStatus.success, responseStatusCode: 204, createdAt: t0 + 3 },
    ];
    for (const attempt of attempts) {
      await store.db.insertInto('attempt').values(toAttemptRow(attempt)).execute();
    }

    const all = await store.attempts.list(app.id, { limit: 10, endpointId: 'ep_x' });
    assert.deepEqual(all.data.map((attempt) => attempt.responseStatusCode), [204, 0, 500]);
    const failed = await store.attempts.list(app.id, { limit: 10, status: DeliveryStatus.fail });
    assert.equal(failed.data.length, 2);
    const noResponse = await store.attempts.list(app.id, { limit: 10, statusCodeClass: 0 });
    assert.deepEqual(noResponse.data.map((attempt) => attempt.error), ['timeout']);
    const fiveHundreds = await store.attempts.list(app.id, { limit: 10, statusCodeClass: 500 });
    assert.equal(fiveHundreds.data.length, 1);
    const byChannel = await store.attempts.list(app.id, { limit: 10, channel: 'eu' });
    assert.equal(byChannel.data.length, 3);
    const otherChannel = await store.attempts.list(app.id, { limit: 10, channel: 'us' });
    assert.equal(otherChannel.data.length, 0);
    const found = await store.attempts.find(app.id, msg.id, attempts[2]?.id ?? '');
    assert.deepEqual(found, attempts[2]);
  });
});

describeEveryStore('IdempotencyKeyRepository', (open) => {
  test('claim, replay, mismatch and release', async (context) => {
    const store = await withStore(open, context);
    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'k1', 'hash-a', t0, 60_000), { kind: 'claimed' });
    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'k1', 'hash-a', t0, 60_000), { kind: 'in_progress' });
    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'k1', 'hash-b', t0, 60_000), { kind: 'mismatch' });

    await store.idempotencyKeys.complete('admin', 'k1', 202, '{"id":"msg_1"}');
    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'k1', 'hash-a', t0, 60_000), {
      kind: 'completed',
      statusCode: 202,
      body: '{"id":"msg_1"}',
    });
    assert.deepEqual(await store.idempotencyKeys.claim('app:app_1', 'k1', 'hash-a', t0, 60_000), { kind: 'claimed' });

    await store.idempotencyKeys.release('app:app_1', 'k1');
    assert.deepEqual(await store.idempotencyKeys.claim('app:app_1', 'k1', 'hash-a', t0, 60_000), { kind: 'claimed' });
    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'k1', 'hash-c', t0 + 60_000, 60_000), { kind: 'claimed' });
  });
});

describeEveryStore('TokenRepository', (open) => {
  test('stores only the hash', async (context) => {
    const store = await withStore(open, context);
    await store.tokens.insert('tok_1', 'appsk_example-token-value', 'app', 'app_1', t0 + 1_000, t0);
    assert.deepEqual(await store.tokens.findByToken('appsk_example-token-value'), {
      id: 'tok_1',
      kind: 'app',
      appId: 'app_1',
      expiresAt: t0 + 1_000,
    });
    const rows = await store.db.selectFrom('token').selectAll().execute();
    assert.ok(rows.every((row) => !JSON.stringify(row).includes('example-token-value')));
    assert.equal(await store.tokens.findByToken('appsk_other'), undefined);
  });
});
