import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '../helpers/hookline.js';
import { spawnHookline, stopHookline, type HooklineProcess } from '../helpers/hookline-process.js';
import { auditStoredAttempts, countDuplicates, sendMessages, waitForAllPairs } from './delivery-audit.js';
import { readDatabase, readDeliveries, startLoggingReceiver, type LoggingReceiver } from './webhook-log.js';

const messageTarget = 2_000;
const endpointPaths = ['/a', '/b', '/c'];
/** Messages per second, so that the kill comes while messages are still being sent. */
const sendRate = 150;
/** Accepted messages at the SIGKILL, about half of them. */
const acceptedBeforeKill = 1_000;
const workerConcurrency = 16;

const dataDir = mkdtempSync(join(tmpdir(), 'hookline-kill-'));
const databasePath = join(dataDir, 'hookline.db');
const env = {
  HOOKLINE_DATA_DIR: dataDir,
  HOOKLINE_QUEUE_LEASE: '2s',
  HOOKLINE_REQUEST_TIMEOUT: '1s',
  HOOKLINE_QUEUE_POLL_INTERVAL: '100ms',
  HOOKLINE_RETRY_SCHEDULE: '100ms,200ms,400ms,800ms,1s,1s,1s,1s',
  HOOKLINE_WORKER_CONCURRENCY: String(workerConcurrency),
  HOOKLINE_SHUTDOWN_TIMEOUT: '5s',
};

const processes: HooklineProcess[] = [];
let receiver: LoggingReceiver | undefined;

after(async () => {
  for (const hookline of processes) {
    await stopHookline(hookline, 'SIGKILL').catch(() => undefined);
  }
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('embedded mode survives a SIGKILL of hookline start', { timeout: 120_000 }, async () => {
  // Every 10th request gets a 500, so some deliveries are waiting for a retry at the kill.
  receiver = await startLoggingReceiver({
    delayMs: (number) => 20 + (number % 5) * 15,
    statusCode: (number) => (number % 10 === 0 ? 500 : 200),
  });
  const baseUrl = receiver.baseUrl;
  const responded = receiver.responded;

  const first = await spawnHookline(env);
  processes.push(first);
  const app = await first.request('POST', '/api/v1/app', { name: 'Durability', uid: 'durability' });
  assert.equal(app.status, 201);
  const endpointPathById = new Map<string, string>();
  for (const path of endpointPaths) {
    const endpoint = await first.request('POST', '/api/v1/app/durability/endpoint', { url: `${baseUrl}${path}` });
    assert.equal(endpoint.status, 201);
    endpointPathById.set(endpoint.body.id as string, path);
  }

  // Send in the background, paced, and kill the process while messages are still being
  // sent and deliveries are in flight. The senders stop at the first post without a response.
  const started = Date.now();
  const accepted = new Set<string>();
  const sending = sendMessages([first], 'durability', accepted, messageTarget, { rate: sendRate });
  await waitFor(() => accepted.size >= acceptedBeforeKill, 30_000, `${acceptedBeforeKill} accepted messages`);
  const acceptedAtKill = accepted.size;
  const inFlightAtKill = receiver.inFlight;
  const respondedAtKill = responded.length;
  const killed = await stopHookline(first, 'SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  const failedPosts = await sending;

  const second = await spawnHookline(env);
  processes.push(second);
  await sendMessages([second], 'durability', accepted, messageTarget, { rate: sendRate });
  assert.equal(accepted.size, messageTarget);

  // 1. Every accepted message reaches every endpoint with a 2xx response.
  await waitForAllPairs(responded, accepted, endpointPaths, 60_000);
  const allArrived = Date.now();

  // 2. The store shows each of those deliveries as a success. The file is read while the
  //    process runs, which WAL mode allows, because the last attempts are written after
  //    the receiver responded.
  const acceptedList = [...accepted];
  await waitFor(
    () =>
      readDatabase(databasePath, (db) => {
        const placeholders = acceptedList.map(() => '?').join(',');
        const row = db
          .prepare(`select count(*) as done from delivery where status = 0 and msg_id in (${placeholders})`)
          .get(...acceptedList) as { done: number };
        return row.done === accepted.size * endpointPaths.length;
      }),
    30_000,
    'every delivery to be recorded as a success',
  );

  const stopped = await stopHookline(second, 'SIGTERM');
  assert.equal(stopped.code, 0, second.stderr.join(''));

  // 3. The attempt rows agree with what the receiver saw.
  const rows = readDeliveries(databasePath);
  auditStoredAttempts(rows, responded, accepted, endpointPathById);

  // At-least-once allows a duplicate for each attempt that was running at the kill, and
  // no more than the worker concurrency of attempts run at once.
  const duplicates = countDuplicates(responded, accepted);
  console.log(
    [
      `messages accepted: ${accepted.size} (${acceptedAtKill} before the kill, ${failedPosts} posts failed at the kill)`,
      `requests responded to before the kill: ${respondedAtKill}, in flight at the kill: ${inFlightAtKill}`,
      `requests responded to in all: ${responded.length}, attempt rows: ${rows.attempts.length}`,
      `duplicate 2xx deliveries after SIGKILL: ${duplicates}`,
      `every pair arrived ${((allArrived - started) / 1_000).toFixed(1)} s after sending started`,
    ].join('\n'),
  );
  assert.ok(duplicates <= workerConcurrency, `${duplicates} duplicates, more than the ${workerConcurrency} attempts that can run at once`);
});
