import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import type { Config } from '../../src/config/load.js';
import { answer, startReceiver } from '../delivery/receiver.js';
import { prepareScaledBackends, startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { redisUnavailable, testRedisUrl } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

const messageCount = 60;
const breakerThreshold = 3;

// A dead endpoint hangs until the attempt times out. The breaker's cooldown outlasts the
// test, so once open it stays open and the dead endpoint's deliveries stay pending.
const settings: Partial<Config> = {
  requestTimeout: 1_000,
  retrySchedule: [200, 400, 800],
  workerConcurrency: 8,
  endpointConcurrency: 2,
  breakerThreshold,
  breakerCooldown: 120_000,
  breakerMaxCooldown: 120_000,
};

async function startHanging(t: TestContext) {
  const open: ServerResponse[] = [];
  const receiver = await startReceiver((_request, response) => {
    open.push(response);
  });
  t.after(() => receiver.close());
  return receiver;
}

async function runScenario(t: TestContext, instances: TestHookline[]): Promise<void> {
  const [api] = instances;
  assert.ok(api);
  const healthy = await startReceiver(answer(204));
  t.after(() => healthy.close());
  const dead = await startHanging(t);

  const app = await api.request('POST', '/api/v1/app', { name: 'dead and healthy' });
  const deadEndpoint = await api.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: `http://127.0.0.1:${dead.port}/dead` });
  const healthyEndpoint = await api.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: `http://127.0.0.1:${healthy.port}/ok` });
  assert.equal(deadEndpoint.status, 201);
  assert.equal(healthyEndpoint.status, 201);

  for (let index = 0; index < messageCount; index += 1) {
    const sent: { status: number } = await api.request('POST', `/api/v1/app/${app.body.id}/msg`, { eventType: 'load.tick', payload: { index } });
    assert.equal(sent.status, 202);
  }

  const stats = async (endpointId: string) => (await api.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpointId}/stats`)).body;
  // The receiver gets a request a moment before its attempt is recorded, so the test
  // waits for the recorded successes.
  await waitFor(async () => (await stats(healthyEndpoint.body.id)).success === messageCount, 30_000, 'every healthy delivery');

  // Every healthy delivery succeeded while the dead endpoint still has work waiting.
  assert.equal(healthy.requests.length, messageCount);
  const deadStats = await stats(deadEndpoint.body.id);
  assert.equal(deadStats.success, 0);
  assert.ok(deadStats.pending + deadStats.sending > 0, `dead endpoint stats ${JSON.stringify(deadStats)}`);
  const received = new Set(healthy.requests.map((request) => JSON.parse(request.body.toString()).index));
  assert.equal(received.size, messageCount);

  await waitFor(
    async () => (await api.request('GET', `/api/v1/app/${app.body.id}/endpoint/${deadEndpoint.body.id}/health`)).body.breaker === 'open',
    15_000,
    'the dead endpoint breaker to open',
  );
  const health = await api.request('GET', `/api/v1/app/${app.body.id}/endpoint/${deadEndpoint.body.id}/health`);
  assert.equal(health.status, 200);
  assert.ok(health.body.consecutiveFailures >= breakerThreshold);
  assert.equal(typeof health.body.openUntil, 'string');
  assert.equal(typeof health.body.failingSince, 'string');
  assert.equal(health.body.disabled, false);
  assert.equal(health.body.throttledUntil, null);

  const healthyHealth = await api.request('GET', `/api/v1/app/${app.body.id}/endpoint/${healthyEndpoint.body.id}/health`);
  assert.deepEqual(healthyHealth.body, {
    breaker: 'closed',
    consecutiveFailures: 0,
    openUntil: null,
    failingSince: null,
    disabled: false,
    throttledUntil: null,
  });

  const breakers = await api.request('GET', '/api/v1/breakers');
  assert.equal(breakers.status, 200);
  assert.deepEqual(
    breakers.body.data.map((item: any) => [item.appId, item.endpointId, item.url]),
    [[app.body.id, deadEndpoint.body.id, `http://127.0.0.1:${dead.port}/dead`]],
  );

  // Postponed deliveries spend no attempts. Only the first wave, sent before any attempt
  // had timed out, and the capped attempts until the breaker opened reached the dead
  // endpoint, never one per message.
  const workers = instances.length;
  const maxAttempts = breakerThreshold + workers * ((settings.workerConcurrency ?? 1) + (settings.endpointConcurrency ?? 1));
  assert.ok(maxAttempts < messageCount);
  const attempts = await api.request('GET', `/api/v1/app/${app.body.id}/attempt/endpoint/${deadEndpoint.body.id}?limit=250`);
  assert.ok(attempts.body.data.length <= maxAttempts, `${attempts.body.data.length} attempts reached the dead endpoint`);
  assert.ok(dead.requests.length <= maxAttempts, `${dead.requests.length} requests reached the dead endpoint`);
  assert.ok(api.logs.concat(...instances.slice(1).map((instance) => instance.logs)).some(
    (line) => line.msg === 'Circuit breaker opened: deliveries to this endpoint are postponed until a probe succeeds' && line.endpointId === deadEndpoint.body.id,
  ));
}

describe('dead endpoint beside a healthy one', () => {
  test('embedded mode keeps healthy deliveries flowing', async (t) => {
    const hookline = await startTestHookline(settings);
    t.after(() => hookline.destroy());
    await runScenario(t, [hookline]);
  });

  test('scaled mode shares the breaker across workers', async (t) => {
    const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
    if (reason !== undefined) {
      t.skip(reason);
      return;
    }
    const backends = await prepareScaledBackends();
    const shared: Partial<Config> = { ...settings, databaseUrl: backends.databaseUrl, redisUrl: testRedisUrl, redisPrefix: backends.redisPrefix };
    const api = await startTestHookline(shared, { api: true, worker: true });
    const worker = await startTestHookline(shared, { api: false, worker: true });
    t.after(async () => {
      await worker.destroy();
      await api.destroy();
      await backends.cleanup();
    });
    await runScenario(t, [api, worker]);
  });
});
