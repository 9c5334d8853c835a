import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeExtras, encodeExtras, type ScheduledExtras } from '../../src/queue/bullmq-scheduled.js';

const traced = JSON.stringify({ deliveryId: 'dlv_1', trigger: 0, trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });

const cases: { name: string; queue: string; id: string; extras: ScheduledExtras; encoded: string }[] = [
  { name: 'implied delivery data', queue: 'webhooks', id: 'dlv_1', extras: { attemptsStarted: 0, attemptsMade: 0, data: '{"deliveryId":"dlv_1","trigger":0}' }, encoded: '' },
  { name: 'implied fan-out data', queue: 'events', id: 'msg_1', extras: { attemptsStarted: 0, attemptsMade: 0, data: '{"msgId":"msg_1"}' }, encoded: '' },
  { name: 'a retry', queue: 'webhooks', id: 'dlv_1', extras: { attemptsStarted: 3, attemptsMade: 0, data: '{"deliveryId":"dlv_1","trigger":0}' }, encoded: '3' },
  { name: 'failed attempts', queue: 'webhooks', id: 'dlv_1', extras: { attemptsStarted: 3, attemptsMade: 2, data: '{"deliveryId":"dlv_1","trigger":0}' }, encoded: '3,2' },
  { name: 'a resend', queue: 'webhooks', id: 'dlv_1', extras: { attemptsStarted: 1, attemptsMade: 0, data: '{"deliveryId":"dlv_1","trigger":1}' }, encoded: '1|{"deliveryId":"dlv_1","trigger":1}' },
  { name: 'a trace carrier', queue: 'webhooks', id: 'dlv_1', extras: { attemptsStarted: 0, attemptsMade: 0, data: traced }, encoded: `0|${traced}` },
  { name: 'data with a bar', queue: 'events', id: 'job', extras: { attemptsStarted: 2, attemptsMade: 1, data: '{"text":"a|b"}' }, encoded: '2,1|{"text":"a|b"}' },
  { name: 'an escaped id', queue: 'webhooks', id: '~42', extras: { attemptsStarted: 1, attemptsMade: 0, data: '{"deliveryId":"42","trigger":0}' }, encoded: '1' },
];

for (const { name, queue, id, extras, encoded } of cases) {
  test(`scheduled extras round-trip ${name}`, () => {
    assert.equal(encodeExtras(queue, id, extras), encoded);
    assert.deepEqual(decodeExtras(queue, id, encoded), extras);
  });
}

test('scheduled extras reject invalid text', () => {
  assert.throws(() => decodeExtras('webhooks', 'dlv_1', 'x'), /Invalid attempt counts "x" of scheduled job dlv_1/);
  assert.throws(() => decodeExtras('webhooks', 'dlv_1', '1,'), /Invalid attempt counts/);
  assert.throws(() => decodeExtras('webhooks', 'dlv_1', '1|{'), SyntaxError);
});
