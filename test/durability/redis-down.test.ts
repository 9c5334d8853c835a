import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Store } from '../../src/store/store.js';
import { answer, startReceiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor } from '../helpers/hookline.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { storeDrivers } from '../helpers/store.js';
import { countBy } from './webhook-log.js';

const messagesWhileDown = 50;
/** Longest time a message post may take while Redis is down; it must not wait for Redis. */
const maxPostMs = 2_000;

/** Returns why this test cannot run here, or undefined when it can. Under CI=true a missing service throws. */
async function unavailable(): Promise<string | undefined> {
  const postgres = await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable();
  if (postgres !== undefined) {
    return postgres;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    const reason = 'redis-server is not installed, and this test needs a Redis server of its own to stop';
    if (process.env.CI === 'true') {
      throw new Error(`${reason}; CI must run every scaled-mode suite.`);
    }
    return reason;
  }
  return undefined;
}

async function countOutboxRows(store: Store): Promise<number> {
  const row = await store.db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('rows')).executeTakeFirstOrThrow();
  return Number(row.rows);
}

test('messages posted while Redis is down arrive later', { timeout: 90_000 }, async (context) => {
  const reason = await unavailable();
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  const redis = await startRedisServer();
  context.after(() => redis.stop());
  const receiver = await startReceiver(answer(204));
  context.after(() => receiver.close());
  const hookline = await startTestHookline({ redisUrl: redis.url, logLevel: 'info' }, { api: true, worker: true }, 'scaled');
  context.after(() => hookline.destroy());

  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Redis down', uid: 'redis-down' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/redis-down/endpoint', { url: `http://127.0.0.1:${receiver.port}/hook` })).status, 201);
  const before = await hookline.request('POST', '/api/v1/app/redis-down/msg', { eventType: 'trap.set', payload: { phase: 'before' } });
  assert.equal(before.status, 202);
  await waitFor(() => receiver.requests.length === 1, 10_000, 'the delivery sent while Redis is up');

  // 1. While Redis is down, every post is accepted at once and its message waits in the outbox.
  await redis.stop();
  const acceptedIds: string[] = [];
  for (let index = 0; index < messagesWhileDown; index += 1) {
    const started = performance.now();
    const response = await hookline.request('POST', '/api/v1/app/redis-down/msg', { eventType: 'trap.set', payload: { phase: 'down', index } });
    const tookMs = performance.now() - started;
    assert.equal(response.status, 202, `message ${index}: ${JSON.stringify(response.body)}`);
    assert.ok(tookMs < maxPostMs, `message ${index} took ${Math.round(tookMs)} ms to be accepted`);
    acceptedIds.push(response.body.id as string);
  }
  const health = await hookline.request('GET', '/api/v1/health');
  assert.equal(health.status, 503);
  assert.deepEqual(health.body.queue, { status: 'ERROR' });
  assert.deepEqual(health.body.database, { status: 'OK' });
  const ready = await hookline.request('GET', '/readyz');
  assert.equal(ready.status, 200, 'the API stays ready while messages can wait in the outbox');
  assert.equal(await countOutboxRows(hookline.store), messagesWhileDown);
  assert.equal(receiver.requests.length, 1, 'nothing can be delivered while Redis is down');
  await waitFor(
    () => hookline.logs.some((line) => line.component === 'outbox-relay' && line.level === 40),
    10_000,
    'the outbox relay to report that Redis is unreachable',
  );

  // 2. Redis comes back empty. The relay moves the outbox rows, and every message arrives.
  await redis.start();
  await waitFor(() => new Set(receiver.requests.map((request) => request.headers['webhook-id'])).size === 1 + messagesWhileDown, 30_000, 'every message accepted while Redis was down');
  await waitFor(async () => (await countOutboxRows(hookline.store)) === 0, 10_000, 'an empty outbox');

  const deliveriesById = countBy(
    receiver.requests.slice(1),
    (request) => String(request.headers['webhook-id']),
  );
  assert.deepEqual([...deliveriesById.keys()].sort(), [...acceptedIds].sort());
  const indexes = receiver.requests
    .slice(1)
    .map((request) => (JSON.parse(request.body.toString('utf8')) as { index: number }).index)
    .sort((left, right) => left - right);
  assert.deepEqual([...new Set(indexes)], Array.from({ length: messagesWhileDown }, (_, index) => index));
  const duplicates = receiver.requests.length - 1 - deliveriesById.size;
  console.log(`messages accepted while Redis was down: ${messagesWhileDown}, delivered after it came back: ${deliveriesById.size}, duplicates: ${duplicates}`);
});
