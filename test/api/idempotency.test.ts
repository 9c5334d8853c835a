import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHookline, testAdminToken, type TestHookline } from '../helpers/hookline.js';

let hookline: TestHookline;

before(async () => {
  hookline = await startTestHookline({}, { api: true, worker: false });
  const app = await hookline.request('POST', '/api/v1/app', { name: 'Idempotency', uid: 'idem' });
  assert.equal(app.status, 201);
});

after(async () => {
  await hookline.destroy();
});

async function messageCount(eventType: string): Promise<number> {
  const list = await hookline.request('GET', `/api/v1/app/idem/msg?event_types=${eventType}`);
  assert.equal(list.status, 200);
  return list.body.data.length;
}

test('same key and request replays the response', async () => {
  const headers = { 'idempotency-key': 'same-request' };
  const body = { eventType: 'replayed', payload: { n: 1 } };

  const first = await hookline.request('POST', '/api/v1/app/idem/msg', body, headers);
  assert.equal(first.status, 202);
  const second = await hookline.request('POST', '/api/v1/app/idem/msg', body, headers);
  assert.equal(second.status, 202);
  assert.deepEqual(second.body, first.body);
  assert.equal(await messageCount('replayed'), 1);
});

test('replayed response is marked', async () => {
  const headers = { 'idempotency-key': 'marked' };
  const init = (): RequestInit => ({
    method: 'POST',
    headers: { authorization: `Bearer ${testAdminToken}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ eventType: 'marked', payload: {} }),
  });

  const first = await fetch(`${hookline.url}/api/v1/app/idem/msg`, init());
  await first.text();
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const second = await fetch(`${hookline.url}/api/v1/app/idem/msg`, init());
  await second.text();
  assert.equal(second.headers.get('idempotent-replayed'), 'true');
});

test('same key with different body gets 422', async () => {
  const headers = { 'idempotency-key': 'changed-body' };
  const first = await hookline.request('POST', '/api/v1/app/idem/msg', { eventType: 'changed', payload: { n: 1 } }, headers);
  assert.equal(first.status, 202);

  const second = await hookline.request('POST', '/api/v1/app/idem/msg', { eventType: 'changed', payload: { n: 2 } }, headers);
  assert.equal(second.status, 422);
  assert.deepEqual(second.body, {
    detail: [
      {
        loc: ['header', 'idempotency-key'],
        msg: 'This Idempotency-Key was already used for a request with a different method, URL or body; send a new key for a new request.',
        type: 'value_error.idempotency_key_reused',
      },
    ],
  });
  assert.equal(await messageCount('changed'), 1);
});

test('same key on another route gets 422', async () => {
  const headers = { 'idempotency-key': 'other-route' };
  const first = await hookline.request('POST', '/api/v1/app', { name: 'Keyed' }, headers);
  assert.equal(first.status, 201);
  const second = await hookline.request('POST', '/api/v1/event-type', { name: 'keyed', description: 'x' }, headers);
  assert.equal(second.status, 422);
  assert.deepEqual(second.body.detail[0].loc, ['header', 'idempotency-key']);
});

test('key of failed request can be reused', async () => {
  const headers = { 'idempotency-key': 'failed-first' };
  const invalid = await hookline.request('POST', '/api/v1/app/idem/msg', { eventType: 'retried' }, headers);
  assert.equal(invalid.status, 422);
  assert.deepEqual(invalid.body.detail[0].loc, ['body', 'payload']);

  const unknownApp = await hookline.request('POST', '/api/v1/app/app_unknown/msg', { eventType: 'retried', payload: {} }, headers);
  assert.equal(unknownApp.status, 404);

  const valid = await hookline.request('POST', '/api/v1/app/idem/msg', { eventType: 'retried', payload: {} }, headers);
  assert.equal(valid.status, 202);
  const replayed = await hookline.request('POST', '/api/v1/app/idem/msg', { eventType: 'retried', payload: {} }, headers);
  assert.equal(replayed.status, 202);
  assert.equal(replayed.body.id, valid.body.id);
  assert.equal(await messageCount('retried'), 1);
});

test('too long key gets 400', async () => {
  const key = 'k'.repeat(257);
  const response = await hookline.request('POST', '/api/v1/app/idem/msg', { eventType: 'long-key', payload: {} }, { 'idempotency-key': key });
  assert.equal(response.status, 400);
  assert.deepEqual(response.body, { code: 'bad_request', detail: 'Idempotency-Key has 257 characters; send at most 256.' });
  assert.equal(await messageCount('long-key'), 0);
});

test('requests without key are not replayed', async () => {
  const body = { eventType: 'unkeyed', payload: {} };
  const first = await hookline.request('POST', '/api/v1/app/idem/msg', body);
  const second = await hookline.request('POST', '/api/v1/app/idem/msg', body);
  assert.equal(first.status, 202);
  assert.equal(second.status, 202);
  assert.notEqual(first.body.id, second.body.id);
  assert.equal(await messageCount('unkeyed'), 2);
});

test('concurrent requests with one key store one message', async () => {
  const headers = { 'idempotency-key': 'concurrent' };
  const body = { eventType: 'concurrent', payload: { n: 1 } };
  const responses = await Promise.all(Array.from({ length: 5 }, () => hookline.request('POST', '/api/v1/app/idem/msg', body, headers)));

  for (const response of responses) {
    assert.ok([202, 409].includes(response.status), `status ${response.status}`);
    if (response.status === 409) {
      assert.deepEqual(response.body, { code: 'conflict', detail: 'A request with this Idempotency-Key is still being processed; retry after it finishes.' });
    }
  }
  const ids = new Set(responses.filter((response) => response.status === 202).map((response) => response.body.id));
  assert.equal(ids.size, 1);
  assert.equal(await messageCount('concurrent'), 1);
});
