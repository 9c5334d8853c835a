import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startReceiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor } from '../helpers/hookline.js';
import { redisUnavailable } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

const dayMs = 86_400_000;

/** Size of the SQLite database with its write-ahead log. */
function databaseBytes(dataDir: string): number {
  const file = join(dataDir, 'hookline.db');
  const wal = `${file}-wal`;
  return statSync(file).size + (existsSync(wal) ? statSync(wal).size : 0);
}

test('retention expunges payloads and shrinks the file', { timeout: 120_000 }, async (context) => {
  const responseBody = 'r'.repeat(16_000);
  const receiver = await startReceiver((_request, response) => {
    response.writeHead(200);
    response.end(responseBody);
  });
  const realStart = Date.now();
  let offset = 0;
  const clock = () => Date.now() + offset;
  const hookline = await startTestHookline({ retentionDays: 30, retentionInterval: 3_600_000, logLevel: 'info' }, undefined, 'embedded', { clock });
  context.after(async () => {
    await hookline.destroy();
    await receiver.close();
  });
  const retention = hookline.retention;
  assert.ok(retention, 'a worker process runs the retention job');
  assert.equal(await hookline.store.retention.incrementalVacuumEnabled(), true);

  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Retention', uid: 'retention' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/retention/endpoint', { url: `http://127.0.0.1:${receiver.port}/` })).status, 201);

  // 1. 200 messages of about 20 kB each, each with one attempt that stored a 16 kB response.
  const filler = 'p'.repeat(20_000);
  const oldIds: string[] = [];
  for (let n = 0; n < 200; n += 1) {
    const message = await hookline.request('POST', '/api/v1/app/retention/msg', { eventType: 'trap.set', payload: { n, filler } });
    assert.equal(message.status, 202);
    oldIds.push(message.body.id);
  }
  await waitFor(() => receiver.requests.length === 200, 60_000, '200 deliveries');
  await waitFor(
    async () => (await hookline.request('GET', `/api/v1/app/retention/msg/${oldIds[199]}/attempt?limit=1`)).body?.data?.length === 1,
    10_000,
    'the last attempt recorded',
  );
  assert.deepEqual(await retention.runOnce(), { messagesExpunged: 0, attemptsExpunged: 0, statBucketsDeleted: 0, idempotencyKeysDeleted: 0 });
  const bytesBefore = databaseBytes(hookline.dataDir);

  // 2. Thirty-one days later, messages from step 1 are past HOOKLINE_RETENTION_DAYS.
  offset += 31 * dayMs;
  const shortLived = await hookline.request('POST', '/api/v1/app/retention/msg', { eventType: 'trap.set', payload: { kept: 'no' }, payloadRetentionPeriod: 5 });
  const recent = await hookline.request('POST', '/api/v1/app/retention/msg', { eventType: 'trap.set', payload: { kept: 'yes' } });
  assert.equal(shortLived.status, 202);
  assert.equal(recent.status, 202);
  await waitFor(() => receiver.requests.length === 202, 20_000, 'the two recent deliveries');

  const result = await retention.runOnce();
  assert.equal(result.messagesExpunged, 200);
  assert.equal(result.attemptsExpunged, 200);
  const bytesAfter = databaseBytes(hookline.dataDir);
  assert.ok(bytesAfter < bytesBefore / 2, `the database shrank from ${bytesBefore} to ${bytesAfter} bytes`);

  const old = await hookline.request('GET', `/api/v1/app/retention/msg/${oldIds[0]}`);
  assert.equal(old.status, 200);
  assert.deepEqual(old.body.payload, {});
  assert.equal(old.body.eventType, 'trap.set');
  const oldAttempts = await hookline.request('GET', `/api/v1/app/retention/msg/${oldIds[0]}/attempt`);
  assert.equal(oldAttempts.body.data.length, 1, 'the attempt stays as metadata');
  assert.equal(oldAttempts.body.data[0].response, '');
  assert.equal(oldAttempts.body.data[0].responseStatusCode, 200);
  assert.equal((await hookline.request('GET', `/api/v1/app/retention/msg/${recent.body.id}`)).body.payload.kept, 'yes');
  assert.equal((await hookline.request('GET', `/api/v1/app/retention/msg/${shortLived.body.id}`)).body.payload.kept, 'no');

  // 3. Six days later the message with a 5-day payloadRetentionPeriod loses its payload too.
  offset += 6 * dayMs;
  const later = await retention.runOnce();
  assert.equal(later.messagesExpunged, 1);
  assert.deepEqual((await hookline.request('GET', `/api/v1/app/retention/msg/${shortLived.body.id}`)).body.payload, {});
  assert.equal((await hookline.request('GET', `/api/v1/app/retention/msg/${recent.body.id}`)).body.payload.kept, 'yes');
  assert.ok(Date.now() - realStart < 120_000);
});

test('expunge routes empty one message and one attempt', async (context) => {
  const receiver = await startReceiver((_request, response) => {
    response.writeHead(200);
    response.end('stored response');
  });
  const hookline = await startTestHookline();
  context.after(async () => {
    await hookline.destroy();
    await receiver.close();
  });
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Expunge', uid: 'expunge' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/expunge/endpoint', { url: `http://127.0.0.1:${receiver.port}/` })).status, 201);
  const message = await hookline.request('POST', '/api/v1/app/expunge/msg', { eventType: 'trap.set', payload: { card: '4242' } });
  let attemptId = '';
  await waitFor(async () => {
    const attempts = await hookline.request('GET', `/api/v1/app/expunge/msg/${message.body.id}/attempt`);
    attemptId = attempts.body.data[0]?.id ?? '';
    return attemptId !== '';
  });

  const expungeMessage = await hookline.request('DELETE', `/api/v1/app/expunge/msg/${message.body.id}/content`);
  assert.equal(expungeMessage.status, 204);
  assert.deepEqual((await hookline.request('GET', `/api/v1/app/expunge/msg/${message.body.id}`)).body.payload, {});

  const expungeAttempt = await hookline.request('DELETE', `/api/v1/app/expunge/msg/${message.body.id}/attempt/${attemptId}/content`);
  assert.equal(expungeAttempt.status, 204);
  const attempt = await hookline.request('GET', `/api/v1/app/expunge/msg/${message.body.id}/attempt/${attemptId}`);
  assert.equal(attempt.body.response, '');
  assert.equal(attempt.body.responseStatusCode, 200);

  assert.equal((await hookline.request('DELETE', `/api/v1/app/expunge/msg/msg_missing/content`)).status, 404);
  assert.equal((await hookline.request('DELETE', `/api/v1/app/expunge/msg/${message.body.id}/attempt/atmpt_missing/content`)).status, 404);
});

test('retention expunges payloads on PostgreSQL', { timeout: 60_000 }, async (context) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  const receiver = await startReceiver((_request, response) => {
    response.writeHead(200);
    response.end('response body');
  });
  let offset = 0;
  const hookline = await startTestHookline({ retentionDays: 30, retentionInterval: 3_600_000 }, undefined, 'scaled', {
    clock: () => Date.now() + offset,
  });
  context.after(async () => {
    await hookline.destroy();
    await receiver.close();
  });
  const retention = hookline.retention;
  assert.ok(retention);

  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Retention', uid: 'retention' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/retention/endpoint', { url: `http://127.0.0.1:${receiver.port}/` })).status, 201);
  const ids: string[] = [];
  for (let n = 0; n < 3; n += 1) {
    ids.push((await hookline.request('POST', '/api/v1/app/retention/msg', { eventType: 'trap.set', payload: { n } })).body.id);
  }
  await waitFor(
    async () => (await hookline.request('GET', `/api/v1/app/retention/msg/${ids[2]}/attempt`)).body?.data?.length === 1,
    20_000,
    'the last attempt recorded',
  );

  offset += 31 * dayMs;
  const result = await retention.runOnce();
  assert.equal(result.messagesExpunged, 3);
  assert.equal(result.attemptsExpunged, 3);
  assert.deepEqual((await hookline.request('GET', `/api/v1/app/retention/msg/${ids[0]}`)).body.payload, {});
  const attempts = await hookline.request('GET', `/api/v1/app/retention/msg/${ids[0]}/attempt`);
  assert.equal(attempts.body.data[0].response, '');
  assert.deepEqual(await retention.runOnce(), { messagesExpunged: 0, attemptsExpunged: 0, statBucketsDeleted: 0, idempotencyKeysDeleted: 0 });
});
