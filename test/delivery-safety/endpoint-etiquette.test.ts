import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReceiverHandler } from '../delivery/receiver.js';
import { answer, startReceiver, type Receiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { verifyDelivery } from '../integration/webhook-check.js';

let hookline: TestHookline;
/** Receives operational webhooks. */
let operational: Receiver;
let operationalSecret: string;

/** Operational webhooks received so far, verified and parsed. */
function operationalEvents(): any[] {
  return operational.requests.map((request) => verifyDelivery(operationalSecret, request));
}

async function createEndpoint(appId: string, url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await hookline.request('POST', `/api/v1/app/${appId}/endpoint`, { url, ...extra });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id;
}

async function send(appId: string, payload: Record<string, unknown>, eventId?: string): Promise<string> {
  const sent = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'etiquette.test', payload, ...(eventId ? { eventId } : {}) });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  return sent.body.id;
}

async function destination(appId: string, msgId: string, endpointId: string): Promise<any> {
  const listed = await hookline.request('GET', `/api/v1/app/${appId}/msg/${msgId}/endpoint`);
  return listed.body.data.find((item: any) => item.id === endpointId);
}

async function waitForStatus(appId: string, msgId: string, endpointId: string, status: number): Promise<void> {
  await waitFor(async () => (await destination(appId, msgId, endpointId))?.status === status, 15_000, `delivery of ${msgId} in status ${status}`);
}

async function attemptsOf(appId: string, msgId: string, endpointId: string): Promise<any[]> {
  const listed = await hookline.request('GET', `/api/v1/app/${appId}/msg/${msgId}/attempt?endpoint_id=${endpointId}&limit=250`);
  return listed.body.data;
}

function switchable(initial: ReceiverHandler): ReceiverHandler & { use(handler: ReceiverHandler): void } {
  let current = initial;
  const handler: ReceiverHandler = (request, response, body) => current(request, response, body);
  return Object.assign(handler, { use: (next: ReceiverHandler) => void (current = next) });
}

before(async () => {
  operational = await startReceiver(answer(204));
  // Five attempts a delivery: the fourth failure raises `message.attempt.failing`, the
  // fifth `message.attempt.exhausted`. The breaker threshold is out of reach here.
  hookline = await startTestHookline({ retrySchedule: [50, 50, 50, 50], breakerThreshold: 1_000 });
  const created = await hookline.request('POST', '/api/v1/operational-webhook/endpoint', {
    url: `http://127.0.0.1:${operational.port}/ops`,
    description: 'operator',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  operationalSecret = (await hookline.request('GET', `/api/v1/operational-webhook/endpoint/${created.body.id}/secret`)).body.key;
});

after(async () => {
  await hookline.destroy();
  await operational.close();
});

describe('status code etiquette', () => {
  test('410 disables the endpoint and reports it', async (t) => {
    const gone = await startReceiver(answer(410, 'gone for good'));
    t.after(() => gone.close());
    const app = await hookline.request('POST', '/api/v1/app', { name: 'gone', uid: 'gone-app' });
    const endpointId = await createEndpoint(app.body.id, `http://127.0.0.1:${gone.port}/`, { uid: 'gone-endpoint' });

    const msgId = await send(app.body.id, { n: 1 });
    await waitForStatus(app.body.id, msgId, endpointId, 2);
    assert.equal((await attemptsOf(app.body.id, msgId, endpointId)).length, 1);

    const endpoint = await hookline.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpointId}`);
    assert.equal(endpoint.body.disabled, true);
    const health = await hookline.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpointId}/health`);
    assert.equal(health.body.disabled, true);

    await waitFor(() => operationalEvents().some((event) => event.type === 'endpoint.disabled' && event.data.endpointId === endpointId), 10_000, 'endpoint.disabled');
    const event = operationalEvents().find((item) => item.type === 'endpoint.disabled' && item.data.endpointId === endpointId);
    assert.equal(typeof event.timestamp, 'string');
    assert.deepEqual(Object.keys(event.data).sort(), ['appId', 'appUid', 'endpointId', 'endpointUid', 'failSince', 'trigger']);
    assert.equal(event.data.appId, app.body.id);
    assert.equal(event.data.appUid, 'gone-app');
    assert.equal(event.data.endpointUid, 'gone-endpoint');
    assert.equal(event.data.trigger, 'automatic');
    assert.ok(!Number.isNaN(Date.parse(event.data.failSince)));

    // A disabled endpoint gets no new deliveries.
    const next = await send(app.body.id, { n: 2 });
    await waitFor(async () => (await hookline.request('GET', `/api/v1/app/${app.body.id}/msg/${next}/endpoint`)).status === 200, 5_000, 'message stored');
    assert.equal(gone.requests.length, 1);
  });

  test('429 Retry-After postpones the endpoint', async (t) => {
    const busy = await startReceiver(answer(429, 'slow down', { 'retry-after': '30' }));
    t.after(() => busy.close());
    const app = await hookline.request('POST', '/api/v1/app', { name: 'busy' });
    const endpointId = await createEndpoint(app.body.id, `http://127.0.0.1:${busy.port}/`);

    const first = await send(app.body.id, { n: 1 });
    await waitFor(async () => (await attemptsOf(app.body.id, first, endpointId)).length === 1, 10_000, 'the first attempt');
    const [attempt] = await attemptsOf(app.body.id, first, endpointId);
    assert.equal(attempt.responseStatusCode, 429);
    await waitForStatus(app.body.id, first, endpointId, 1);
    const pending = await destination(app.body.id, first, endpointId);
    const attemptTime = Date.parse(attempt.timestamp);
    // The retry waits for Retry-After (30 s), not for the 50 ms of the schedule.
    assert.ok(Date.parse(pending.nextAttempt) >= attemptTime + 29_000, `next attempt ${pending.nextAttempt} after ${attempt.timestamp}`);

    const health = await hookline.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpointId}/health`);
    assert.ok(Date.parse(health.body.throttledUntil) >= attemptTime + 29_000, JSON.stringify(health.body));
    assert.equal(health.body.consecutiveFailures, 1);

    // A new message to the slowed endpoint waits too, without spending an attempt.
    const second = await send(app.body.id, { n: 2 });
    await waitFor(
      async () => {
        const item = await destination(app.body.id, second, endpointId);
        return item !== undefined && item.nextAttempt !== null && Date.parse(item.nextAttempt) >= Date.parse(health.body.throttledUntil);
      },
      10_000,
      'the second delivery to be postponed',
    );
    assert.equal((await attemptsOf(app.body.id, second, endpointId)).length, 0);
    assert.equal(busy.requests.length, 1);
  });
});

describe('dead letters, operational webhooks and redrive', () => {
  test('exhausted delivery stays failed and is recovered once', async (t) => {
    const handler = switchable(answer(500, 'broken'));
    const flaky = await startReceiver(handler);
    t.after(() => flaky.close());
    const app = await hookline.request('POST', '/api/v1/app', { name: 'flaky', uid: 'flaky-app' });
    const endpointId = await createEndpoint(app.body.id, `http://127.0.0.1:${flaky.port}/`);
    const since = new Date(Date.now() - 1_000).toISOString();

    const failed = await send(app.body.id, { n: 'failed' }, 'evt-failed');
    await waitForStatus(app.body.id, failed, endpointId, 2);
    assert.equal((await attemptsOf(app.body.id, failed, endpointId)).length, 5);

    await waitFor(() => operationalEvents().some((event) => event.type === 'message.attempt.exhausted' && event.data.msgId === failed), 10_000, 'exhausted');
    const failing = operationalEvents().filter((event) => event.type === 'message.attempt.failing' && event.data.msgId === failed);
    assert.equal(failing.length, 1);
    const exhausted = operationalEvents().filter((event) => event.type === 'message.attempt.exhausted' && event.data.msgId === failed);
    assert.equal(exhausted.length, 1);
    const lastAttempt = (await attemptsOf(app.body.id, failed, endpointId))[0];
    assert.deepEqual(exhausted[0].data, {
      appId: app.body.id,
      appUid: 'flaky-app',
      endpointId,
      msgId: failed,
      msgEventId: 'evt-failed',
      lastAttempt: { id: lastAttempt.id, timestamp: lastAttempt.timestamp, responseStatusCode: 500 },
    });

    // The dead letter stays failed and visible.
    const failedList = await hookline.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpointId}/msg?status=2`);
    assert.deepEqual(failedList.body.data.map((item: any) => item.id), [failed]);

    handler.use(answer(200, 'fixed'));
    const succeeded = await send(app.body.id, { n: 'succeeded' });
    await waitForStatus(app.body.id, succeeded, endpointId, 0);

    const recovered = await hookline.request('POST', `/api/v1/app/${app.body.id}/endpoint/${endpointId}/recover`, { since });
    assert.equal(recovered.status, 202);
    await waitForStatus(app.body.id, failed, endpointId, 0);

    const requestsFor = (msgId: string) => flaky.requests.filter((request) => request.headers['webhook-id'] === msgId).length;
    assert.equal(requestsFor(failed), 6);
    assert.equal(requestsFor(succeeded), 1);
    const recoveredAttempt = (await attemptsOf(app.body.id, failed, endpointId))[0];
    assert.equal(recoveredAttempt.triggerType, 1);
    assert.equal(recoveredAttempt.status, 0);

    await waitFor(() => operationalEvents().some((event) => event.type === 'message.attempt.recovered' && event.data.msgId === failed), 10_000, 'recovered');
    const recoveredEvent = operationalEvents().find((event) => event.type === 'message.attempt.recovered' && event.data.msgId === failed);
    assert.equal(recoveredEvent.data.lastAttempt.id, recoveredAttempt.id);
    assert.equal(recoveredEvent.data.lastAttempt.responseStatusCode, 200);

    // A second recover finds nothing failed, so nothing is sent twice.
    const again = await hookline.request('POST', `/api/v1/app/${app.body.id}/endpoint/${endpointId}/recover`, { since });
    assert.equal(again.status, 202);
    const resent = await hookline.request('POST', `/api/v1/app/${app.body.id}/msg/${succeeded}/endpoint/${endpointId}/resend`);
    assert.equal(resent.status, 202);
    await waitFor(() => requestsFor(succeeded) === 2, 10_000, 'the resend');
    assert.equal(requestsFor(failed), 6);
    assert.equal(operationalEvents().filter((event) => event.type === 'message.attempt.recovered' && event.data.msgId === succeeded).length, 0);
  });
});

describe('rate limit per endpoint', () => {
  test('throttleRate spaces deliveries', async (t) => {
    const arrivals: number[] = [];
    const limited = await startReceiver((request, response) => {
      arrivals.push(Date.now());
      answer(204)(request, response, Buffer.alloc(0));
    });
    t.after(() => limited.close());
    const app = await hookline.request('POST', '/api/v1/app', { name: 'limited' });
    const endpointId = await createEndpoint(app.body.id, `http://127.0.0.1:${limited.port}/`, { throttleRate: 2 });

    // Sent at once, so the messages come due faster than 2 per second even on a loaded machine.
    await Promise.all(Array.from({ length: 10 }, (_, index) => send(app.body.id, { index })));
    await waitFor(() => limited.requests.length === 10, 20_000, 'ten throttled deliveries');

    // A bucket of 2 tokens refilled at 2 per second lets the first two go at once and
    // spaces the other eight over at least 4 seconds. A slow machine spreads them
    // further, never closer.
    const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
    assert.ok(span >= 3_500, `ten deliveries at 2 per second took only ${span} ms`);
    assert.ok(hookline.logs.some((line) => line.msg === 'Attempt postponed: the endpoint is at its rate limit' && line.endpointId === endpointId));
    const attempts = await hookline.request('GET', `/api/v1/app/${app.body.id}/attempt/endpoint/${endpointId}?limit=250`);
    assert.equal(attempts.body.data.length, 10);
  });
});

describe('HOOKLINE_DISABLE_AFTER', () => {
  test('long failure streak disables the endpoint', async (t) => {
    const ops = await startReceiver(answer(204));
    const broken = await startReceiver(answer(500));
    // 300 ms replaces the default of days, so the retries below run past it without a success.
    const short = await startTestHookline({ disableAfter: 300, retrySchedule: [150, 150, 150, 150, 150, 150], breakerThreshold: 1_000 });
    t.after(async () => {
      await short.destroy();
      await ops.close();
      await broken.close();
    });
    const opsEndpoint = await short.request('POST', '/api/v1/operational-webhook/endpoint', {
      url: `http://127.0.0.1:${ops.port}/`,
      filterTypes: ['endpoint.disabled'],
    });
    const opsSecret = (await short.request('GET', `/api/v1/operational-webhook/endpoint/${opsEndpoint.body.id}/secret`)).body.key;

    const app = await short.request('POST', '/api/v1/app', { name: 'streak' });
    const endpoint = await short.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: `http://127.0.0.1:${broken.port}/` });
    const message = await short.request('POST', `/api/v1/app/${app.body.id}/msg`, { eventType: 'streak.test', payload: {} });
    assert.equal(message.status, 202);

    await waitFor(async () => (await short.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpoint.body.id}`)).body.disabled === true, 15_000, 'the endpoint to be disabled');
    await waitFor(() => ops.requests.length > 0, 10_000, 'endpoint.disabled');
    const events = ops.requests.map((request) => verifyDelivery(opsSecret, request) as any);
    // The filter keeps the failing and exhausted events of this delivery away.
    assert.deepEqual(events.map((event) => event.type), ['endpoint.disabled']);
    const attempts = await short.request('GET', `/api/v1/app/${app.body.id}/attempt/endpoint/${endpoint.body.id}?limit=250`);
    const firstFailure = attempts.body.data.at(-1);
    assert.equal(events[0].data.failSince, firstFailure.timestamp);
    assert.equal(events[0].data.endpointId, endpoint.body.id);

    // Enabling it again by hand starts a new streak.
    const enabled = await short.request('PATCH', `/api/v1/app/${app.body.id}/endpoint/${endpoint.body.id}`, { disabled: false });
    assert.equal(enabled.body.disabled, false);
    const health = await short.request('GET', `/api/v1/app/${app.body.id}/endpoint/${endpoint.body.id}/health`);
    assert.equal(health.body.failingSince, null);
    assert.equal(health.body.disabled, false);
  });
});
