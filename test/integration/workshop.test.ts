import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { answer } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { startTimedReceiver, verifyDelivery, type TimedReceiver } from './webhook-check.js';

let hookline: TestHookline;
let receiver: TimedReceiver;

before(async () => {
  // A generous request timeout, so that a slow response on a loaded machine adds no attempt.
  hookline = await startTestHookline({ requestTimeout: 5_000 });
  receiver = await startTimedReceiver(answer(200));
});

after(async () => {
  await hookline.destroy();
  await receiver.close();
});

const isoDate = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function requestsTo(path: string) {
  return receiver.requests.filter((request) => request.url === path);
}

test('subscription add, list and remove', async () => {
  const added = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-list',
    eventId: 1,
    endpoint: receiver.url('/list-set'),
  });
  assert.equal(added.status, 201);
  assert.deepEqual(Object.keys(added.body).sort(), ['accountId', 'createdAt', 'endpoint', 'eventId', 'eventType', 'id', 'secret', 'subscriptionId']);
  assert.match(added.body.id, /^ep_[0-9a-z]{26}$/);
  assert.equal(added.body.subscriptionId, added.body.id);
  assert.equal(added.body.accountId, 'acct-list');
  assert.equal(added.body.eventId, 1);
  assert.equal(added.body.eventType, 'trap.set');
  assert.equal(added.body.endpoint, receiver.url('/list-set'));
  assert.match(added.body.createdAt, isoDate);
  assert.match(added.body.secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);

  // eventId may also be sent as a numeric string or as the event type name.
  const byString = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-list',
    eventId: '2',
    endpoint: receiver.url('/list-diffuse'),
  });
  assert.equal(byString.status, 201);
  assert.equal(byString.body.eventId, 2);
  assert.equal(byString.body.eventType, 'trap.diffuse');
  const byName = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-other',
    eventId: 'trap.diffuse',
    endpoint: receiver.url('/list-other'),
  });
  assert.equal(byName.status, 201);
  assert.equal(byName.body.eventId, 2);

  const ofAccount = await hookline.request('GET', '/api/event_subscriptions?accountId=acct-list');
  assert.equal(ofAccount.status, 200);
  assert.deepEqual(ofAccount.body, [
    {
      id: added.body.id,
      accountId: 'acct-list',
      eventId: 1,
      eventType: 'trap.set',
      endpoint: receiver.url('/list-set'),
      createdAt: added.body.createdAt,
    },
    {
      id: byString.body.id,
      accountId: 'acct-list',
      eventId: 2,
      eventType: 'trap.diffuse',
      endpoint: receiver.url('/list-diffuse'),
      createdAt: byString.body.createdAt,
    },
  ]);

  const everyAccount = await hookline.request('GET', '/api/event_subscriptions');
  assert.equal(everyAccount.status, 200);
  const ids = (everyAccount.body as { id: string }[]).map((subscription) => subscription.id);
  assert.ok(ids.includes(added.body.id));
  assert.ok(ids.includes(byString.body.id));
  assert.ok(ids.includes(byName.body.id));

  const unknownAccount = await hookline.request('GET', '/api/event_subscriptions?accountId=acct-nobody');
  assert.equal(unknownAccount.status, 200);
  assert.deepEqual(unknownAccount.body, []);

  const removed = await hookline.request('POST', `/api/event_subscriptions/remove?subscriptionId=${added.body.id}`);
  assert.equal(removed.status, 200);
  assert.deepEqual(removed.body, { id: added.body.id, removed: true });
  const afterRemoval = await hookline.request('GET', '/api/event_subscriptions?accountId=acct-list');
  assert.deepEqual(
    (afterRemoval.body as { id: string }[]).map((subscription) => subscription.id),
    [byString.body.id],
  );

  const removedAgain = await hookline.request('POST', `/api/event_subscriptions/remove?subscriptionId=${added.body.id}`);
  assert.equal(removedAgain.status, 404);
  assert.equal(removedAgain.body.code, 'not_found');
});

test('subscription add rejects unknown eventId', async () => {
  for (const eventId of [3, 0, '7', 'trap.exploded']) {
    const response = await hookline.request('POST', '/api/event_subscriptions/add', {
      accountId: 'acct-invalid',
      eventId,
      endpoint: receiver.url('/never'),
    });
    assert.equal(response.status, 422, `eventId ${String(eventId)}`);
    assert.deepEqual(response.body.detail[0].loc, ['body', 'eventId'], `eventId ${String(eventId)}`);
  }
  const list = await hookline.request('GET', '/api/event_subscriptions?accountId=acct-invalid');
  assert.deepEqual(list.body, []);
});

test('trap set and diffuse reach their subscribers', async () => {
  const onSet = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-traps',
    eventId: 1,
    endpoint: receiver.url('/traps-set'),
  });
  const onDiffuse = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-traps',
    eventId: 2,
    endpoint: receiver.url('/traps-diffuse'),
  });
  const otherAccount = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-bystander',
    eventId: 1,
    endpoint: receiver.url('/traps-bystander'),
  });
  assert.equal(onSet.status, 201);
  assert.equal(onDiffuse.status, 201);
  assert.equal(otherAccount.status, 201);

  const set = await hookline.request('POST', '/api/trap/set?accountId=acct-traps');
  assert.equal(set.status, 200);
  assert.deepEqual(Object.keys(set.body).sort(), ['accountId', 'createdAt', 'id', 'msgId', 'status', 'updatedAt']);
  assert.match(set.body.id, /^trap_[0-9a-z]{26}$/);
  assert.match(set.body.msgId, /^msg_[0-9a-z]{26}$/);
  assert.equal(set.body.accountId, 'acct-traps');
  assert.equal(set.body.status, 'set');
  assert.match(set.body.createdAt, isoDate);
  assert.equal(set.body.updatedAt, set.body.createdAt);

  const traps = await hookline.request('GET', '/api/trap');
  assert.equal(traps.status, 200);
  assert.deepEqual(traps.body, [
    { id: set.body.id, accountId: 'acct-traps', status: 'set', createdAt: set.body.createdAt, updatedAt: set.body.updatedAt },
  ]);

  await waitFor(() => requestsTo('/traps-set').length === 1, 10_000, 'the trap.set webhook');
  const [setWebhook] = requestsTo('/traps-set');
  assert.ok(setWebhook);
  assert.equal(setWebhook.headers['webhook-id'], set.body.msgId);
  assert.deepEqual(verifyDelivery(onSet.body.secret, setWebhook), {
    type: 'trap.set',
    timestamp: set.body.createdAt,
    data: { trapId: set.body.id, accountId: 'acct-traps', status: 'set' },
  });

  const diffused = await hookline.request('POST', `/api/trap/diffuse?id=${set.body.id}`);
  assert.equal(diffused.status, 200);
  assert.equal(diffused.body.id, set.body.id);
  assert.equal(diffused.body.status, 'diffused');
  assert.equal(diffused.body.createdAt, set.body.createdAt);
  assert.match(diffused.body.updatedAt, isoDate);
  assert.match(diffused.body.msgId, /^msg_[0-9a-z]{26}$/);
  assert.notEqual(diffused.body.msgId, set.body.msgId);

  await waitFor(() => requestsTo('/traps-diffuse').length === 1, 10_000, 'the trap.diffuse webhook');
  const [diffuseWebhook] = requestsTo('/traps-diffuse');
  assert.ok(diffuseWebhook);
  assert.equal(diffuseWebhook.headers['webhook-id'], diffused.body.msgId);
  assert.deepEqual(verifyDelivery(onDiffuse.body.secret, diffuseWebhook), {
    type: 'trap.diffuse',
    timestamp: diffused.body.updatedAt,
    data: { trapId: set.body.id, accountId: 'acct-traps', status: 'diffused' },
  });

  // Each subscriber got only its own event, and the other account got nothing.
  await waitFor(
    async () => {
      const attempts = await hookline.request('GET', `/api/v1/app/acct-traps/msg/${diffused.body.msgId}/endpoint`);
      return attempts.body.data.length === 1 && attempts.body.data[0].status === 0;
    },
    10_000,
    'the trap.diffuse delivery to finish',
  );
  assert.equal(requestsTo('/traps-set').length, 1);
  assert.equal(requestsTo('/traps-diffuse').length, 1);
  assert.equal(requestsTo('/traps-bystander').length, 0);

  const ofAccount = await hookline.request('GET', '/api/trap?accountId=acct-traps');
  assert.deepEqual(ofAccount.body, [
    { id: set.body.id, accountId: 'acct-traps', status: 'diffused', createdAt: set.body.createdAt, updatedAt: diffused.body.updatedAt },
  ]);
});

test('trap diffuse of unknown trap is 400', async () => {
  const unknown = await hookline.request('POST', '/api/trap/diffuse?id=trap_00000000000000000000000000');
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'bad_request');
  assert.match(unknown.body.detail, /trap_00000000000000000000000000/);

  const missing = await hookline.request('POST', '/api/trap/diffuse');
  assert.equal(missing.status, 422);
  assert.deepEqual(missing.body.detail[0].loc, ['query', 'id']);
});

test('trap diffuse twice is 409', async () => {
  const set = await hookline.request('POST', '/api/trap/set?accountId=acct-twice');
  assert.equal(set.status, 200);
  const first = await hookline.request('POST', `/api/trap/diffuse?id=${set.body.id}`);
  assert.equal(first.status, 200);
  const second = await hookline.request('POST', `/api/trap/diffuse?id=${set.body.id}`);
  assert.equal(second.status, 409);
  assert.equal(second.body.code, 'conflict');
});

test('trap set without subscribers creates the account', async () => {
  const set = await hookline.request('POST', '/api/trap/set?accountId=acct-lonely');
  assert.equal(set.status, 200);
  const app = await hookline.request('GET', '/api/v1/app/acct-lonely');
  assert.equal(app.status, 200);
  assert.equal(app.body.uid, 'acct-lonely');
  const message = await hookline.request('GET', `/api/v1/app/acct-lonely/msg/${set.body.msgId}`);
  assert.equal(message.status, 200);
  assert.equal(message.body.eventType, 'trap.set');
  assert.deepEqual(message.body.payload, {
    type: 'trap.set',
    timestamp: set.body.createdAt,
    data: { trapId: set.body.id, accountId: 'acct-lonely', status: 'set' },
  });

  const missing = await hookline.request('POST', '/api/trap/set');
  assert.equal(missing.status, 422);
  assert.deepEqual(missing.body.detail[0].loc, ['query', 'accountId']);
});

test('concurrent diffuse sends one event', async () => {
  const subscription = await hookline.request('POST', '/api/event_subscriptions/add', {
    accountId: 'acct-race',
    eventId: 2,
    endpoint: receiver.url('/race-diffuse'),
  });
  assert.equal(subscription.status, 201);
  const set = await hookline.request('POST', '/api/trap/set?accountId=acct-race');
  assert.equal(set.status, 200);

  const responses = await Promise.all(
    Array.from({ length: 5 }, () => hookline.request('POST', `/api/trap/diffuse?id=${set.body.id}`)),
  );
  assert.deepEqual(
    responses.map((response) => response.status).sort(),
    [200, 409, 409, 409, 409],
  );

  const diffused = responses.find((response) => response.status === 200);
  assert.ok(diffused);
  await waitFor(() => requestsTo('/race-diffuse').length === 1, 10_000, 'the trap.diffuse webhook');
  const messages = await hookline.request('GET', '/api/v1/app/acct-race/msg?event_types=trap.diffuse');
  assert.deepEqual(
    (messages.body.data as { id: string }[]).map((message) => message.id),
    [diffused.body.msgId],
  );
});
