import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { testAdminToken, waitFor } from '../helpers/hookline.js';
import { spawnHookline, stopHookline, type HooklineProcess } from '../helpers/hookline-process.js';
import {
  countBy,
  readDatabase,
  readDeliveries,
  startLoggingReceiver,
  type AttemptRow,
  type LoggingReceiver,
  type ReceiverScript,
  type RespondedRequest,
} from './webhook-log.js';

const endpointPaths = ['/a', '/b'];

const dataDirs: string[] = [];
const processes: HooklineProcess[] = [];
const receivers: LoggingReceiver[] = [];

after(async () => {
  for (const hookline of processes) {
    await stopHookline(hookline, 'SIGKILL').catch(() => undefined);
  }
  for (const receiver of receivers) {
    await receiver.close();
  }
  for (const dataDir of dataDirs) {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

interface Scenario {
  env: Record<string, string>;
  databasePath: string;
  receiver: LoggingReceiver;
  first: HooklineProcess;
  endpointPathById: Map<string, string>;
  accepted: string[];
}

/**
 * Starts a receiver with `script` and Hookline on a new data folder, creates one
 * application with an endpoint per path, and sends `messageCount` messages.
 */
async function startScenario(script: ReceiverScript, env: Record<string, string>, messageCount: number): Promise<Scenario> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-shutdown-'));
  dataDirs.push(dataDir);
  const fullEnv = { ...env, HOOKLINE_DATA_DIR: dataDir, HOOKLINE_QUEUE_POLL_INTERVAL: '100ms', HOOKLINE_WORKER_CONCURRENCY: '16' };

  const receiver = await startLoggingReceiver(script);
  receivers.push(receiver);
  const first = await spawnHookline(fullEnv);
  processes.push(first);

  const app = await first.request('POST', '/api/v1/app', { name: 'Shutdown', uid: 'shutdown' });
  assert.equal(app.status, 201);
  const endpointPathById = new Map<string, string>();
  for (const path of endpointPaths) {
    const endpoint = await first.request('POST', '/api/v1/app/shutdown/endpoint', { url: `${receiver.baseUrl}${path}` });
    assert.equal(endpoint.status, 201);
    endpointPathById.set(endpoint.body.id as string, path);
  }

  const accepted: string[] = [];
  for (let n = 1; n <= messageCount; n += 1) {
    const message = await first.request('POST', '/api/v1/app/shutdown/msg', { eventType: 'trap.set', payload: { n } });
    assert.equal(message.status, 202);
    accepted.push(message.body.id as string);
  }

  return { env: fullEnv, databasePath: join(dataDir, 'hookline.db'), receiver, first, endpointPathById, accepted };
}

/** Restarts Hookline on the scenario's data folder, waits for every delivery to succeed and stops it. */
async function restartUntilDelivered(scenario: Scenario): Promise<void> {
  const second = await spawnHookline(scenario.env);
  processes.push(second);

  const expected = scenario.accepted.length * endpointPaths.length;
  await waitFor(
    () =>
      readDatabase(scenario.databasePath, (db) => {
        const row = db.prepare('select count(*) as done from delivery where status = 0').get() as { done: number };
        return row.done === expected;
      }),
    60_000,
    `${expected} successful deliveries`,
  );

  const stopped = await stopHookline(second, 'SIGTERM', 15_000);
  assert.equal(stopped.code, 0, second.stderr.join(''));
}

/**
 * Asserts that the attempt rows that carry a response and the requests the receiver
 * responded to match one to one, by the response body `request-N`.
 */
function assertOneAttemptPerResponse(attempts: AttemptRow[], responded: RespondedRequest[], endpointPathById: Map<string, string>): void {
  const withResponse = attempts.filter((attempt) => attempt.response_status_code !== 0);
  const attemptsByBody = countBy(withResponse, (attempt) => attempt.response);

  const unrecorded = responded.filter((request) => !attemptsByBody.has(`request-${request.number}`)).map((request) => request.number);
  assert.deepEqual(unrecorded, [], 'requests with a response but no attempt row');
  const repeated = [...attemptsByBody].filter(([, count]) => count > 1);
  assert.deepEqual(repeated, [], 'requests with a response and more than one attempt row');
  assert.equal(withResponse.length, responded.length, 'attempt rows with a response');

  const respondedByNumber = new Map(responded.map((request) => [request.number, request]));
  for (const attempt of withResponse) {
    const request = respondedByNumber.get(Number(attempt.response.replace('request-', '')));
    assert.ok(request, `attempt ${attempt.id} records response "${attempt.response}", which the receiver never sent`);
    assert.equal(request.msgId, attempt.msg_id);
    assert.equal(request.path, endpointPathById.get(attempt.endpoint_id));
    assert.equal(request.statusCode, attempt.response_status_code);
  }

  const withoutResponse = attempts.filter((attempt) => attempt.response_status_code === 0);
  assert.deepEqual(withoutResponse, [], 'attempts that got no response, such as aborted requests');
}

test('SIGTERM lets in-flight attempts finish', { timeout: 120_000 }, async () => {
  const shutdownTimeoutMs = 5_000;
  // Slow responses keep attempts in flight; every 7th request gets a 500, so some
  // deliveries are waiting for a retry at the SIGTERM.
  const scenario = await startScenario(
    { delayMs: (number) => 300 + (number % 4) * 100, statusCode: (number) => (number % 7 === 0 ? 500 : 200) },
    {
      HOOKLINE_QUEUE_LEASE: '3s',
      HOOKLINE_REQUEST_TIMEOUT: '2s',
      HOOKLINE_RETRY_SCHEDULE: '200ms,400ms,800ms,1s,1s',
      HOOKLINE_SHUTDOWN_TIMEOUT: `${shutdownTimeoutMs}ms`,
    },
    80,
  );
  const { receiver, first, endpointPathById, databasePath } = scenario;
  const responded = receiver.responded;

  await waitFor(() => responded.length >= 32 && receiver.inFlight >= 8, 30_000, 'a burst of attempts in flight');
  const inFlightAtSignal = receiver.inFlight;
  const signalledAt = Date.now();
  const exit = await stopHookline(first, 'SIGTERM', shutdownTimeoutMs + 10_000);
  const shutdownMs = Date.now() - signalledAt;

  // 1. The process exits 0 within the shutdown timeout, after the attempts in flight.
  assert.equal(exit.code, 0, first.stderr.join(''));
  assert.ok(shutdownMs < shutdownTimeoutMs + 1_500, `shutdown took ${shutdownMs} ms`);
  assert.equal(receiver.inFlight, 0, 'requests without a response after the exit');
  assert.equal(responded.length, receiver.receiver.requests.length, 'requests received but never responded to');
  const messages = first.logs.map((entry) => String(entry.msg));
  assert.ok(messages.includes('Shutdown complete'));
  assert.ok(!messages.some((text) => text.startsWith('Aborted the handlers')), 'handlers aborted before the deadline');

  // 2. Each request the receiver responded to before the exit is one attempt row.
  const respondedBeforeRestart = responded.length;
  const beforeRestart = readDeliveries(databasePath);
  assertOneAttemptPerResponse(beforeRestart.attempts, responded, endpointPathById);
  const pending = beforeRestart.deliveries.filter((delivery) => delivery.status !== 0).length;
  assert.ok(pending > 0, 'the SIGTERM came after every delivery had finished, so the test proves nothing');

  // 3. After a restart the remaining deliveries complete, and no request that got a response is
  //    recorded twice or sent again.
  await restartUntilDelivered(scenario);
  const expected = scenario.accepted.length * endpointPaths.length;
  const { attempts, deliveries } = readDeliveries(databasePath);
  assert.equal(deliveries.length, expected);
  assertOneAttemptPerResponse(attempts, responded, endpointPathById);
  const successes = countBy(
    responded.filter((request) => request.statusCode < 300),
    (request) => `${request.msgId} ${request.path}`,
  );
  assert.equal(successes.size, expected, '(message, endpoint) pairs that got a 2xx');
  const duplicates = [...successes].filter(([, count]) => count > 1);
  assert.deepEqual(duplicates, [], 'pairs delivered with a 2xx more than once');
  const jobsLeft = readDatabase(databasePath, (db) => db.prepare("select count(*) as n from job where queue = 'webhooks'").get() as { n: number });
  assert.equal(jobsLeft.n, 0, 'delivery jobs left in the queue');

  console.log(
    [
      `deliveries: ${expected}, in flight at SIGTERM: ${inFlightAtSignal}, shutdown took ${shutdownMs} ms`,
      `requests responded to before the restart: ${respondedBeforeRestart}, deliveries pending then: ${pending}, responded to in all: ${responded.length}`,
    ].join('\n'),
  );
});

test('SIGTERM past the deadline requeues attempts', { timeout: 120_000 }, async () => {
  const shutdownTimeoutMs = 1_000;
  // The first 16 requests outlast the shutdown timeout, so the SIGTERM must abort them.
  const scenario = await startScenario(
    { delayMs: (number) => (number <= 16 ? 4_000 : 50), statusCode: () => 200 },
    {
      HOOKLINE_QUEUE_LEASE: '10s',
      HOOKLINE_REQUEST_TIMEOUT: '8s',
      HOOKLINE_RETRY_SCHEDULE: '200ms,400ms',
      HOOKLINE_SHUTDOWN_TIMEOUT: `${shutdownTimeoutMs}ms`,
      // Endpoints that have not responded yet are capped at an eighth of the worker slots,
      // and this test needs all 16 slots waiting at once.
      HOOKLINE_ENDPOINT_CONCURRENCY: '16',
    },
    20,
  );
  const { receiver, first, endpointPathById, databasePath } = scenario;

  await waitFor(() => receiver.inFlight === 16, 30_000, '16 attempts in flight');
  const signalledAt = Date.now();
  const exit = await stopHookline(first, 'SIGTERM', shutdownTimeoutMs + 10_000);
  const shutdownMs = Date.now() - signalledAt;

  // 1. The process aborts the attempts at the deadline and exits 0 without recording them.
  assert.equal(exit.code, 0, first.stderr.join(''));
  assert.ok(shutdownMs >= shutdownTimeoutMs, `shutdown took ${shutdownMs} ms, less than its timeout`);
  assert.ok(shutdownMs < shutdownTimeoutMs + 1_500, `shutdown took ${shutdownMs} ms`);
  const aborted = first.logs.find((entry) => String(entry.msg).startsWith('Aborted the handlers'));
  assert.ok(aborted, 'no log line about the aborted handlers');
  assert.equal((aborted.jobIds as string[]).length, 16);
  await waitFor(() => receiver.inFlight === 0, 5_000, 'the receiver to see the aborted requests close');
  assert.equal(receiver.responded.length, 0, 'requests responded to before the deadline');
  const beforeRestart = readDeliveries(databasePath);
  assert.deepEqual(beforeRestart.attempts, [], 'attempt rows of aborted requests');
  const jobs = readDatabase(databasePath, (db) =>
    db.prepare("select lease_owner, attempts from job where queue = 'webhooks'").all() as { lease_owner: string | null; attempts: number }[],
  );
  assert.equal(jobs.length, scenario.accepted.length * endpointPaths.length);
  assert.deepEqual(
    jobs.filter((job) => job.lease_owner !== null),
    [],
    'jobs still leased after the shutdown',
  );

  // 2. After a restart every delivery completes with one attempt per response.
  await restartUntilDelivered(scenario);
  const { attempts } = readDeliveries(databasePath);
  assertOneAttemptPerResponse(attempts, receiver.responded, endpointPathById);
  assert.equal(attempts.length, scenario.accepted.length * endpointPaths.length);
});

test('SIGTERM with an unfinished request exits', { timeout: 60_000 }, async () => {
  const shutdownTimeoutMs = 1_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-shutdown-'));
  dataDirs.push(dataDir);
  const hookline = await spawnHookline({ HOOKLINE_DATA_DIR: dataDir, HOOKLINE_SHUTDOWN_TIMEOUT: `${shutdownTimeoutMs}ms` });
  processes.push(hookline);

  // A client that sends the headers and part of the body, then nothing more.
  const { hostname, port } = new URL(hookline.url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    [
      'POST /api/v1/app HTTP/1.1',
      `host: ${hostname}:${port}`,
      `authorization: Bearer ${testAdminToken}`,
      'content-type: application/json',
      'content-length: 100',
      '',
      '{"name":',
    ].join('\r\n'),
  );
  await waitFor(() => hookline.logs.some((entry) => entry.msg === 'incoming request'), 5_000, 'the request to reach the server');

  const signalledAt = Date.now();
  const exit = await stopHookline(hookline, 'SIGTERM', shutdownTimeoutMs + 10_000);
  const shutdownMs = Date.now() - signalledAt;
  socket.destroy();

  assert.equal(exit.code, 0, hookline.stderr.join(''));
  assert.ok(shutdownMs < shutdownTimeoutMs + 1_500, `shutdown took ${shutdownMs} ms`);
  const messages = hookline.logs.map((entry) => String(entry.msg));
  assert.ok(messages.includes('Closed the HTTP connections still open at the shutdown deadline'));
  assert.ok(messages.includes('Shutdown complete'));
});
