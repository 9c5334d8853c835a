import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answer, startReceiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor } from '../helpers/hookline.js';
import { redisUnavailable } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

test('scaled mode delivers through PostgreSQL and BullMQ', async (context) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  const receiver = await startReceiver(answer(204));
  const hookline = await startTestHookline({}, { api: true, worker: true }, 'scaled');
  context.after(async () => {
    await hookline.destroy();
    await receiver.close();
  });

  const health = await hookline.request('GET', '/api/v1/health');
  assert.deepEqual(health.body, { database: { status: 'OK' }, queue: { status: 'OK' }, cache: { status: 'OK' } });
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Scaled', uid: 'scaled' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/scaled/endpoint', { url: `http://127.0.0.1:${receiver.port}/` })).status, 201);
  for (let index = 0; index < 20; index += 1) {
    assert.equal((await hookline.request('POST', '/api/v1/app/scaled/msg', { eventType: 'trap.set', payload: { index } })).status, 202);
  }
  await waitFor(() => receiver.requests.length >= 20, 15_000, '20 deliveries');
  const bodies = receiver.requests.map((request) => JSON.parse(request.body.toString('utf8')).index).sort((a, b) => a - b);
  assert.deepEqual(bodies, Array.from({ length: 20 }, (_, index) => index));
  const started = hookline.logs.find((line) => typeof line.msg === 'string' && line.msg.includes('listening on'));
  assert.equal(started?.mode, 'scaled');
});
