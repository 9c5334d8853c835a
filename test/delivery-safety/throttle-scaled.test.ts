import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answer, startReceiver } from '../delivery/receiver.js';
import { prepareScaledBackends, startTestHookline, waitFor } from '../helpers/hookline.js';
import { redisUnavailable, testRedisUrl } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

test('throttleRate holds across two workers', async (t) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  const arrivals: number[] = [];
  const receiver = await startReceiver((request, response) => {
    arrivals.push(Date.now());
    answer(204)(request, response, Buffer.alloc(0));
  });
  const backends = await prepareScaledBackends();
  const shared = { databaseUrl: backends.databaseUrl, redisUrl: testRedisUrl, redisPrefix: backends.redisPrefix };
  const api = await startTestHookline(shared, { api: true, worker: true });
  const worker = await startTestHookline(shared, { api: false, worker: true });
  t.after(async () => {
    await worker.destroy();
    await api.destroy();
    await backends.cleanup();
    await receiver.close();
  });

  const app = await api.request('POST', '/api/v1/app', { name: 'throttled' });
  const endpoint = await api.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: `http://127.0.0.1:${receiver.port}/`, throttleRate: 2 });
  assert.equal(endpoint.status, 201);
  // Sent at once, so the messages come due faster than 2 per second even on a loaded machine.
  const sent = await Promise.all(
    Array.from({ length: 8 }, (_, index) => api.request('POST', `/api/v1/app/${app.body.id}/msg`, { eventType: 'throttle.test', payload: { index } })),
  );
  assert.deepEqual(sent.map((response) => response.status), Array(8).fill(202));
  await waitFor(() => receiver.requests.length === 8, 20_000, 'eight throttled deliveries');

  // 2 go at once from the bucket, the other 6 need at least 3 s at 2 per second, whichever
  // worker sends them. A loaded machine spreads them further, never closer.
  const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
  assert.ok(span >= 2_500, `eight deliveries at 2 per second over two workers took only ${span} ms`);
  const postponedBy = [api, worker].map((instance) =>
    instance.logs.filter((line) => line.msg === 'Attempt postponed: the endpoint is at its rate limit').length,
  );
  assert.ok(postponedBy.some((count) => count > 0), JSON.stringify(postponedBy));
  const received = new Set(receiver.requests.map((request) => JSON.parse(request.body.toString()).index));
  assert.equal(received.size, 8);
});
