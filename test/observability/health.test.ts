import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { startTestHookline } from '../helpers/hookline.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

test('probes report a ready embedded process', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());

  const healthz = await hookline.request('GET', '/healthz');
  assert.equal(healthz.status, 200);
  assert.deepEqual(healthz.body, { status: 'ok' });

  const ready = await fetch(`${hookline.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', queue: 'ok' } });

  const health = await fetch(`${hookline.url}/api/v1/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { database: { status: 'OK' }, queue: { status: 'OK' }, cache: { status: 'OK' } });
});

test('readiness fails while a migration is missing', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());

  await sql`delete from hookline_migration where name = '0006-observability'`.execute(hookline.store.db);
  const ready = await fetch(`${hookline.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { status: 'unavailable', checks: { database: 'ok', migrations: 'failed', queue: 'ok' } });
  assert.ok(hookline.logs.some((line) => line.msg === 'Readiness check failed' && line.check === 'migrations'));

  const healthz = await fetch(`${hookline.url}/healthz`);
  assert.equal(healthz.status, 200, 'the process is still alive');
});

test('worker port serves probes and metrics', async (context) => {
  const worker = await startTestHookline({ workerPort: 0 }, { api: false, worker: true });
  context.after(() => worker.destroy());
  assert.ok(worker.url.startsWith('http://127.0.0.1:'), 'the worker reports its probe address');

  const ready = await fetch(`${worker.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', queue: 'ok' } });
  const metrics = await fetch(`${worker.url}/metrics`);
  assert.equal(metrics.status, 200);
  const samples = parsePrometheusText(await metrics.text());
  assert.equal(sampleValue(samples, 'hookline_queue_jobs', { queue: 'webhooks', state: 'waiting' }), 0);
  assert.equal((await fetch(`${worker.url}/api/v1/app`)).status, 404, 'the worker serves no API');
});
