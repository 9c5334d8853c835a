import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { prepareScaledBackends, waitFor } from '../helpers/hookline.js';
import { spawnHookline, stopHookline, type HooklineProcess } from '../helpers/hookline-process.js';
import { redisUnavailable, testRedisUrl } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';
import { countBy, startLoggingReceiver } from './webhook-log.js';

interface AttemptRecord {
  id: string;
  msg_id: string;
  response_status_code: number;
  response: string;
}

test('SIGTERM stops a scaled worker without losing attempts', { timeout: 180_000 }, async (context) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }

  const backends = await prepareScaledBackends();
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-worker-shutdown-'));
  // Slow responses keep attempts in flight; every 7th request gets a 500, so some
  // deliveries wait for a retry at the SIGTERM.
  const receiver = await startLoggingReceiver({ delayMs: (number) => 300 + (number % 4) * 100, statusCode: (number) => (number % 7 === 0 ? 500 : 200) });
  const processes: HooklineProcess[] = [];
  const db = new pg.Client({ connectionString: backends.databaseUrl });
  context.after(async () => {
    for (const running of processes) {
      await stopHookline(running, 'SIGKILL').catch(() => undefined);
    }
    await db.end().catch(() => undefined);
    await receiver.close();
    await backends.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const shutdownTimeoutMs = 5_000;
  const env = {
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: testRedisUrl,
    HOOKLINE_REDIS_PREFIX: backends.redisPrefix,
    HOOKLINE_DATA_DIR: dataDir,
    HOOKLINE_QUEUE_LEASE: '3s',
    HOOKLINE_REQUEST_TIMEOUT: '2s',
    HOOKLINE_RECOVERY_GRACE: '10s',
    HOOKLINE_RETRY_SCHEDULE: '200ms,400ms,800ms,1s,1s',
    HOOKLINE_SHUTDOWN_TIMEOUT: `${shutdownTimeoutMs}ms`,
  };
  const api = await spawnHookline(env, { command: 'api' });
  processes.push(api);
  const first = await spawnHookline(env, { command: 'worker', args: ['--concurrency', '16'] });
  processes.push(first);
  await db.connect();

  assert.equal((await api.request('POST', '/api/v1/app', { name: 'Workers', uid: 'workers' })).status, 201);
  const pathByEndpoint = new Map<string, string>();
  for (const path of ['/a', '/b']) {
    const endpoint = await api.request('POST', '/api/v1/app/workers/endpoint', { url: `${receiver.baseUrl}${path}` });
    assert.equal(endpoint.status, 201);
    pathByEndpoint.set(endpoint.body.id as string, path);
  }
  const messageCount = 60;
  for (let n = 1; n <= messageCount; n += 1) {
    assert.equal((await api.request('POST', '/api/v1/app/workers/msg', { eventType: 'trap.set', payload: { n } })).status, 202);
  }

  // 1. SIGTERM in the middle of the burst: the worker finishes its attempts in flight and exits 0.
  await waitFor(() => receiver.responded.length >= 24 && receiver.inFlight >= 8, 30_000, 'a burst of attempts in flight');
  const exit = await stopHookline(first, 'SIGTERM', shutdownTimeoutMs + 10_000);
  assert.equal(exit.code, 0, first.stderr.join(''));
  assert.equal(receiver.inFlight, 0, 'requests without a response after the exit');
  assert.ok(first.logs.some((line) => line.msg === 'Shutdown complete'));
  const respondedAtExit = receiver.responded.length;
  const unfinished = await db.query<{ count: string }>('select count(*) from delivery where status <> 0');
  assert.ok(Number(unfinished.rows[0]?.count) > 0, 'the SIGTERM came after every delivery had finished, so the test proves nothing');

  // 2. A second worker finishes the rest.
  const second = await spawnHookline(env, { command: 'worker', args: ['--concurrency', '16'] });
  processes.push(second);
  const expected = messageCount * pathByEndpoint.size;
  await waitFor(
    async () => Number((await db.query<{ count: string }>('select count(*) from delivery where status = 0')).rows[0]?.count) === expected,
    60_000,
    `${expected} successful deliveries`,
  );
  assert.equal((await stopHookline(second, 'SIGTERM', 15_000)).code, 0, second.stderr.join(''));
  assert.equal((await stopHookline(api, 'SIGTERM', 15_000)).code, 0, api.stderr.join(''));

  // 3. Every response the receiver wrote is exactly one attempt row, and no attempt was cut off.
  const attempts = (await db.query<AttemptRecord>('select id, msg_id, response_status_code, response from attempt')).rows;
  assert.deepEqual(
    attempts.filter((attempt) => attempt.response_status_code === 0),
    [],
    'attempts without a response, such as aborted requests',
  );
  const attemptsByResponse = countBy(attempts, (attempt) => attempt.response);
  assert.deepEqual(
    [...attemptsByResponse].filter(([, count]) => count > 1),
    [],
    'responses recorded more than once',
  );
  const unrecorded = receiver.responded.filter((request) => !attemptsByResponse.has(`request-${request.number}`));
  assert.deepEqual(unrecorded, [], 'responses without an attempt row');
  assert.equal(attempts.length, receiver.responded.length);
  const successes = countBy(
    receiver.responded.filter((request) => request.statusCode < 300),
    (request) => `${request.msgId} ${request.path}`,
  );
  assert.equal(successes.size, expected);
  assert.deepEqual(
    [...successes].filter(([, count]) => count > 1),
    [],
    'pairs delivered with a 2xx more than once',
  );

  // 4. Both workers flushed their statistics before exiting.
  const stats = await db.query<{ attempts: string }>("select sum(success) + sum(fail) as attempts from attempt_stat where granularity = 'day'");
  assert.equal(Number(stats.rows[0]?.attempts), attempts.length, 'attempts counted in the statistics');
  console.log(`responded before the SIGTERM exit: ${respondedAtExit}, attempts in all: ${attempts.length}`);
});
