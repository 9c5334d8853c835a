import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { answer, startReceiver, type Receiver } from '../delivery/receiver.js';
import { inlineFanOutLimit } from '../../src/core/messages.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';

let hookline: TestHookline;
let receiver: Receiver;

before(async () => {
  hookline = await startTestHookline();
  receiver = await startReceiver(answer(204));
});

after(async () => {
  await hookline.destroy();
  await receiver.close();
});

test('message reaches subscribed endpoint signed', async () => {
  const app = await hookline.request('POST', '/api/v1/app', { name: 'Pipeline', uid: 'pipeline' });
  assert.equal(app.status, 201);
  const endpoint = await hookline.request('POST', '/api/v1/app/pipeline/endpoint', {
    url: `http://127.0.0.1:${receiver.port}/hook`,
  });
  assert.equal(endpoint.status, 201);
  const secret = await hookline.request('GET', `/api/v1/app/pipeline/endpoint/${endpoint.body.id}/secret`);

  const message = await hookline.request('POST', '/api/v1/app/pipeline/msg', { eventType: 'trap.set', payload: { n: 1 } });
  assert.equal(message.status, 202);

  await waitFor(() => receiver.requests.length === 1, 10_000, 'the webhook');
  const received = receiver.requests[0];
  assert.ok(received);
  assert.equal(received.headers['webhook-id'], message.body.id);
  assert.equal(received.body.toString('utf8'), '{"n":1}');
  const verified = new Webhook(secret.body.key).verify(received.body.toString('utf8'), {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  });
  assert.deepEqual(verified, { n: 1 });
});

test('deliveries exist at the 202', async () => {
  await hookline.request('POST', '/api/v1/app', { name: 'At once', uid: 'at-once' });
  const endpoint = await hookline.request('POST', '/api/v1/app/at-once/endpoint', { url: `http://127.0.0.1:${receiver.port}/at-once` });
  assert.equal(endpoint.status, 201);

  const message = await hookline.request('POST', '/api/v1/app/at-once/msg', { eventType: 'trap.set', payload: { n: 2 } });
  assert.equal(message.status, 202);
  const destinations = await hookline.request('GET', `/api/v1/app/at-once/msg/${message.body.id}/endpoint`);
  assert.equal(destinations.status, 200);
  assert.deepEqual(
    destinations.body.data.map((entry: { id: string }) => entry.id),
    [endpoint.body.id],
  );
});

test('wide fan-out reaches every endpoint once', async () => {
  await hookline.request('POST', '/api/v1/app', { name: 'Wide', uid: 'wide' });
  const count = inlineFanOutLimit + 3;
  for (let index = 0; index < count; index += 1) {
    const created = await hookline.request('POST', '/api/v1/app/wide/endpoint', { url: `http://127.0.0.1:${receiver.port}/wide/${index}` });
    assert.equal(created.status, 201);
  }

  const message = await hookline.request('POST', '/api/v1/app/wide/msg', { eventType: 'trap.set', payload: { n: 3 } });
  assert.equal(message.status, 202);
  const paths = () => receiver.requests.filter((request) => request.url.startsWith('/wide/')).map((request) => request.url);
  await waitFor(() => paths().length >= count, 15_000, 'every delivery of the wide fan-out');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(new Set(paths()).size, count);
  assert.equal(paths().length, count);
});
