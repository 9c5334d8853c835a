import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { prepareScaledBackends, waitFor } from '../helpers/hookline.js';
import { spawnHookline, stopHookline, type HooklineCommand, type HooklineProcess } from '../helpers/hookline-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { storeDrivers } from '../helpers/store.js';
import { auditStoredAttempts, countDuplicates, sendMessages, waitForAllPairs } from './delivery-audit.js';
import { startLoggingReceiver, type AttemptRow, type DeliveryRow, type LoggingReceiver } from './webhook-log.js';

const messageTarget = 2_000;
const endpointPaths = ['/a', '/b', '/c'];
/** Messages per second over both API processes, so that the failures below happen mid-run. */
const sendRate = 100;
const workerConcurrency = 16;
/** Accepted messages at which each failure is injected. */
const killWorkerAt = 1_000;
const stopRedisAt = 1_300;
const restartWorkerAt = 1_600;
/** How long Redis stays down while the APIs keep accepting messages. */
const redisDownMs = 2_000;

const processes: HooklineProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const hookline of processes) {
    await stopHookline(hookline, 'SIGKILL').catch(() => undefined);
  }
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch(() => undefined);
  }
});

/** Returns why the scaled chaos test cannot run here, or undefined when it can. Under CI=true a missing service throws. */
async function scaledModeUnavailable(): Promise<string | undefined> {
  const postgres = await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable();
  if (postgres !== undefined) {
    return postgres;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    const reason = 'redis-server is not installed, and this test needs a Redis server of its own to restart';
    if (process.env.CI === 'true') {
      throw new Error(`${reason}; CI must run every scaled-mode suite.`);
    }
    return reason;
  }
  return undefined;
}

/** Counts the keys in a Redis server, as a rough size of what its restart throws away. */
async function countKeys(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}

async function readStoredRows(databaseUrl: string): Promise<{ attempts: AttemptRow[]; deliveries: DeliveryRow[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const attempts = await client.query<AttemptRow>('select id, delivery_id, msg_id, endpoint_id, status, response_status_code, response, error from attempt');
    const deliveries = await client.query<DeliveryRow>('select id, msg_id, endpoint_id, status, attempt_count from delivery');
    return { attempts: attempts.rows, deliveries: deliveries.rows };
  } finally {
    await client.end();
  }
}

async function countSuccessfulDeliveries(databaseUrl: string, msgIds: string[]): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ done: number }>('select count(*)::int as done from delivery where status = 0 and msg_id = any($1)', [msgIds]);
    return result.rows[0]?.done ?? 0;
  } finally {
    await client.end();
  }
}

/**
 * Sums the overdue fan-outs and deliveries that the recovery sweeps of these processes
 * found, from their log lines. A sweep adds a job only for those without one, so this
 * counts candidates, not jobs added.
 */
function overdueFoundBySweeps(hooklines: HooklineProcess[]): { fanOuts: number; deliveries: number } {
  const totals = { fanOuts: 0, deliveries: 0 };
  for (const line of hooklines.flatMap((hookline) => hookline.logs)) {
    if (line.component === 'recovery' && typeof line.deliveries === 'number' && typeof line.fanOuts === 'number') {
      totals.fanOuts += line.fanOuts;
      totals.deliveries += line.deliveries;
    }
  }
  return totals;
}

test('scaled mode survives a worker SIGKILL and Redis restart', { timeout: 150_000 }, async (context) => {
  const reason = await scaledModeUnavailable();
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  const testStarted = Date.now();

  const redis: RedisServer = await startRedisServer();
  cleanups.push(() => redis.stop());
  const backends = await prepareScaledBackends();
  cleanups.push(() => backends.cleanup());
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-chaos-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));

  // Every 10th request gets a 500, so retries wait as delayed jobs in Redis when it restarts.
  const receiver: LoggingReceiver = await startLoggingReceiver({
    delayMs: (number) => 5 + (number % 5) * 5,
    statusCode: (number) => (number % 10 === 0 ? 500 : 200),
  });
  cleanups.push(() => receiver.close());

  const env = {
    DATABASE_URL: backends.databaseUrl,
    REDIS_URL: redis.url,
    HOOKLINE_REDIS_PREFIX: backends.redisPrefix,
    HOOKLINE_DATA_DIR: dataDir,
    HOOKLINE_DATABASE_POOL_SIZE: '5',
    HOOKLINE_QUEUE_LEASE: '2s',
    HOOKLINE_REQUEST_TIMEOUT: '1s',
    HOOKLINE_RETRY_SCHEDULE: '100ms,200ms,400ms,800ms,1s,1s,1s,1s',
    HOOKLINE_WORKER_CONCURRENCY: String(workerConcurrency),
    HOOKLINE_RECOVERY_INTERVAL: '1s',
    HOOKLINE_RECOVERY_GRACE: '3s',
    HOOKLINE_SHUTDOWN_TIMEOUT: '5s',
  };
  const spawn = async (command: HooklineCommand): Promise<HooklineProcess> => {
    const hookline = await spawnHookline(env, { command, timeoutMs: 30_000 });
    processes.push(hookline);
    return hookline;
  };

  // The first API process migrates the schema, so the others start on a migrated one.
  const apiA = await spawn('api');
  const [apiB, workerA, workerB] = await Promise.all([spawn('api'), spawn('worker'), spawn('worker')]);

  assert.equal((await apiA.request('POST', '/api/v1/app', { name: 'Chaos', uid: 'chaos' })).status, 201);
  const endpointPathById = new Map<string, string>();
  for (const path of endpointPaths) {
    const endpoint = await apiB.request('POST', '/api/v1/app/chaos/endpoint', { url: `${receiver.baseUrl}${path}` });
    assert.equal(endpoint.status, 201);
    endpointPathById.set(endpoint.body.id as string, path);
  }

  // Send through both API processes in the background and inject the failures as the
  // accepted count passes each mark. A failed send ends the waits at once.
  const accepted = new Set<string>();
  const sendingStarted = Date.now();
  let sendFailure: unknown;
  let sendingDone = false;
  const sending = sendMessages([apiA, apiB], 'chaos', accepted, messageTarget, { rate: sendRate }).then(
    (failedPosts) => {
      sendingDone = true;
      return failedPosts;
    },
    (error: unknown) => {
      sendFailure = error;
      sendingDone = true;
      return -1;
    },
  );
  const untilAccepted = async (count: number): Promise<void> => {
    await waitFor(() => accepted.size >= count || sendingDone, 60_000, `${count} accepted messages`);
    if (sendFailure !== undefined) {
      throw sendFailure;
    }
  };

  // 1. SIGKILL one worker about halfway.
  await untilAccepted(killWorkerAt);
  const killed = await stopHookline(workerB, 'SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  const respondedAtKill = receiver.responded.length;
  const inFlightAtKill = receiver.inFlight;

  // 2. Stop Redis, keep sending through the outbox while it is down, then start it again,
  //    empty, since it keeps nothing on disk.
  await untilAccepted(stopRedisAt);
  const keysAtRestart = await countKeys(redis.url);
  await redis.stop();
  const acceptedAtRedisStop = accepted.size;
  const redisStopped = Date.now();
  await new Promise((resolve) => setTimeout(resolve, redisDownMs));
  const acceptedWhileRedisDown = accepted.size - acceptedAtRedisStop;
  await redis.start();
  const redisDownForMs = Date.now() - redisStopped;

  // 3. Start the killed worker again.
  await untilAccepted(restartWorkerAt);
  const workerC = await spawn('worker');

  const failedPosts = await sending;
  if (sendFailure !== undefined) {
    throw sendFailure;
  }
  const sendingEnded = Date.now();
  assert.equal(failedPosts, 0, 'no API process was killed, so every post must get a response');
  assert.equal(accepted.size, messageTarget);
  assert.ok(acceptedWhileRedisDown > 0, 'the APIs accepted messages while Redis was down');

  // 4. Every accepted message reaches every endpoint with a 2xx response, and the store
  //    records each of those deliveries as a success.
  await waitForAllPairs(receiver.responded, accepted, endpointPaths, 60_000);
  const allArrived = Date.now();
  const acceptedList = [...accepted];
  await waitFor(
    async () => (await countSuccessfulDeliveries(backends.databaseUrl, acceptedList)) === accepted.size * endpointPaths.length,
    20_000,
    'every delivery to be recorded as a success',
  );

  // 5. No process other than the killed worker died, and each stops cleanly.
  for (const hookline of [apiA, apiB, workerA, workerC]) {
    assert.equal(hookline.child.exitCode, null, `hookline ${hookline.command} (pid ${hookline.pid}) exited during the run: ${hookline.stderr.join('')}`);
  }
  const overdue = overdueFoundBySweeps([workerA, workerB, workerC]);
  for (const hookline of [apiA, apiB, workerA, workerC]) {
    const stopped = await stopHookline(hookline, 'SIGTERM');
    assert.equal(stopped.code, 0, `hookline ${hookline.command} (pid ${hookline.pid}): ${hookline.stderr.join('')}`);
  }

  // 6. The attempt rows agree with what the receiver saw.
  auditStoredAttempts(await readStoredRows(backends.databaseUrl), receiver.responded, accepted, endpointPathById);

  const duplicates = countDuplicates(receiver.responded, accepted);
  const seconds = (milliseconds: number) => (milliseconds / 1_000).toFixed(1);
  console.log(
    [
      `messages accepted: ${accepted.size} through 2 API processes, ${acceptedWhileRedisDown} of them while Redis was down for ${redisDownForMs} ms`,
      `Redis keys thrown away by the restart: ${keysAtRestart}`,
      `requests responded to before the worker SIGKILL: ${respondedAtKill}, in flight at the kill: ${inFlightAtKill}`,
      `overdue work found by the recovery sweeps, summed over sweeps: ${overdue.fanOuts} fan-outs, ${overdue.deliveries} deliveries`,
      `requests responded to in all: ${receiver.responded.length} for ${accepted.size * endpointPaths.length} pairs`,
      `duplicate 2xx deliveries: ${duplicates}`,
      `sending took ${seconds(sendingEnded - sendingStarted)} s, the last pair arrived ${seconds(allArrived - sendingEnded)} s after it, the test took ${seconds(Date.now() - testStarted)} s`,
    ].join('\n'),
  );
});
