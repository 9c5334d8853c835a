import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '../helpers/hookline.js';
import { spawnHookline, stopHookline, type HooklineProcess } from '../helpers/hookline-process.js';
import { countBy, readDatabase, readDeliveries, startLoggingReceiver, type LoggingReceiver } from './webhook-log.js';

const messageTarget = 300;
const endpointPaths = ['/a', '/b', '/c'];
/** Receiver requests seen before the SIGKILL, about a sixth of the deliveries. */
const requestsBeforeKill = 150;
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

/**
 * Posts messages from four parallel senders until `accepted` contains `target` ids. A sender
 * stops at the first request that gets no response, because the process was killed.
 * Returns how many requests got no response.
 */
async function sendMessages(hookline: HooklineProcess, appId: string, accepted: Set<string>, target: number): Promise<number> {
  let started = accepted.size;
  let failedPosts = 0;

  const sender = async (): Promise<void> => {
    while (started < target) {
      started += 1;
      let response;
      try {
        response = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'trap.set', payload: { n: started } });
      } catch {
        failedPosts += 1;
        return;
      }
      assert.equal(response.status, 202, JSON.stringify(response.body));
      accepted.add(response.body.id as string);
    }
  };

  await Promise.all([sender(), sender(), sender(), sender()]);
  return failedPosts;
}

test('SIGKILL mid-run loses no accepted message', { timeout: 120_000 }, async () => {
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

  // Send in the background and kill the process while deliveries are in flight.
  const accepted = new Set<string>();
  const sending = sendMessages(first, 'durability', accepted, messageTarget);
  await waitFor(() => receiver!.receiver.requests.length >= requestsBeforeKill, 30_000, `${requestsBeforeKill} webhooks`);
  const acceptedAtKill = accepted.size;
  const inFlightAtKill = receiver.inFlight;
  const respondedAtKill = responded.length;
  const killed = await stopHookline(first, 'SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  const failedPosts = await sending;

  const second = await spawnHookline(env);
  processes.push(second);
  await sendMessages(second, 'durability', accepted, messageTarget);
  assert.equal(accepted.size, messageTarget);

  // 1. Every accepted message reaches every endpoint with a 2xx response.
  const key = (msgId: string, path: string) => `${msgId} ${path}`;
  const expected = new Set([...accepted].flatMap((msgId) => endpointPaths.map((path) => key(msgId, path))));
  const delivered = new Set<string>();
  let scanned = 0;
  await waitFor(
    () => {
      for (; scanned < responded.length; scanned += 1) {
        const request = responded[scanned]!;
        if (request.statusCode < 300) {
          delivered.add(key(request.msgId, request.path));
        }
      }
      return [...expected].every((pair) => delivered.has(pair));
    },
    60_000,
    `${expected.size} (message, endpoint) pairs`,
  );

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
        return row.done === expected.size;
      }),
    30_000,
    'every delivery to be recorded as a success',
  );

  const stopped = await stopHookline(second, 'SIGTERM');
  assert.equal(stopped.code, 0, second.stderr.join(''));

  const { attempts, deliveries } = readDeliveries(databasePath);
  const acceptedDeliveries = deliveries.filter((delivery) => accepted.has(delivery.msg_id));
  assert.equal(acceptedDeliveries.length, expected.size, 'one delivery per accepted message and endpoint');

  // 3. No attempt row is lost: each successful delivery has a successful attempt, and
  //    its attempt count matches its attempt rows.
  const attemptsByDelivery = countBy(attempts, (attempt) => attempt.delivery_id);
  const successesByDelivery = countBy(
    attempts.filter((attempt) => attempt.status === 0),
    (attempt) => attempt.delivery_id,
  );
  const withoutSuccessAttempt = acceptedDeliveries.filter((delivery) => !successesByDelivery.has(delivery.id));
  assert.deepEqual(withoutSuccessAttempt, [], 'successful deliveries without a successful attempt row');
  const countMismatch = acceptedDeliveries.filter((delivery) => delivery.attempt_count !== (attemptsByDelivery.get(delivery.id) ?? 0));
  assert.deepEqual(countMismatch, [], 'deliveries whose attempt_count differs from their attempt rows');

  // 4. Every attempt row that carries a response matches exactly one request the
  //    receiver responded to, by the body `request-N`.
  const respondedByNumber = new Map(responded.map((request) => [request.number, request]));
  const responseBodies = countBy(
    attempts.filter((attempt) => attempt.response_status_code !== 0),
    (attempt) => attempt.response,
  );
  const repeated = [...responseBodies].filter(([, count]) => count > 1);
  assert.deepEqual(repeated, [], 'receiver responses recorded by more than one attempt');
  for (const attempt of attempts.filter((row) => row.response_status_code !== 0)) {
    const request = respondedByNumber.get(Number(attempt.response.replace('request-', '')));
    assert.ok(request, `attempt ${attempt.id} records response "${attempt.response}", which the receiver never sent`);
    assert.equal(request.msgId, attempt.msg_id);
    assert.equal(request.path, endpointPathById.get(attempt.endpoint_id));
    assert.equal(request.statusCode, attempt.response_status_code);
  }

  // At-least-once allows a duplicate for each attempt that was running at the kill, and
  // no more than the worker concurrency of attempts run at once.
  const successfulResponses = countBy(
    responded.filter((request) => request.statusCode < 300 && accepted.has(request.msgId)),
    (request) => key(request.msgId, request.path),
  );
  const duplicates = [...successfulResponses.values()].reduce((sum, count) => sum + count - 1, 0);
  console.log(
    [
      `messages accepted: ${accepted.size} (${acceptedAtKill} before the kill, ${failedPosts} posts failed at the kill)`,
      `requests responded to before the kill: ${respondedAtKill}, in flight at the kill: ${inFlightAtKill}`,
      `requests responded to in all: ${responded.length}, attempt rows: ${attempts.length}`,
      `duplicate 2xx deliveries after SIGKILL: ${duplicates}`,
    ].join('\n'),
  );
  assert.ok(duplicates <= workerConcurrency, `${duplicates} duplicates, more than the ${workerConcurrency} attempts that can run at once`);
});
