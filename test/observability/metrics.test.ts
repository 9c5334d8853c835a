import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { parsePrometheusText, sampleValue, type Sample } from './prometheus-text.js';

let hookline: TestHookline;
let receiver: Receiver;

/** Requests per endpoint path and webhook-id, so /flaky can fail only the first attempt of each message. */
const seen = new Map<string, number>();

before(async () => {
  receiver = await startReceiver((request, response) => {
    const path = request.url ?? '';
    const key = `${path} ${String(request.headers['webhook-id'])}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    const failed = path === '/fail' || (path === '/flaky' && count === 1);
    response.writeHead(failed ? 500 : 200);
    response.end(failed ? 'no' : 'ok');
  });
  // Two retries, so a delivery gets at most three attempts.
  hookline = await startTestHookline({ retrySchedule: [50, 100] });
});

after(async () => {
  await hookline.destroy();
  await receiver.close();
});

async function scrape(): Promise<{ contentType: string; samples: Sample[] }> {
  const response = await fetch(`${hookline.url}/metrics`);
  assert.equal(response.status, 200);
  return { contentType: response.headers.get('content-type') ?? '', samples: parsePrometheusText(await response.text()) };
}

test('metrics count a known run exactly', { timeout: 60_000 }, async () => {
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Metrics', uid: 'metrics' })).status, 201);
  for (const path of ['/ok', '/fail', '/flaky']) {
    const endpoint = await hookline.request('POST', '/api/v1/app/metrics/endpoint', { url: `http://127.0.0.1:${receiver.port}${path}` });
    assert.equal(endpoint.status, 201);
  }
  for (const n of [1, 2]) {
    assert.equal((await hookline.request('POST', '/api/v1/app/metrics/msg', { eventType: 'trap.set', payload: { n } })).status, 202);
  }

  // 2 messages × 3 endpoints = 6 deliveries. /ok succeeds at once, /flaky on its second
  // attempt, /fail never (three attempts each).
  let samples: Sample[] = [];
  await waitFor(
    async () => {
      samples = (await scrape()).samples;
      const finished = ['success', 'fail'].map((outcome) => sampleValue(samples, 'hookline_deliveries_finished_total', { outcome }) ?? 0);
      // The observers run before the handler returns, so the last job may still be active.
      const active = sampleValue(samples, 'hookline_queue_jobs', { queue: 'webhooks', state: 'active' });
      return finished[0]! + finished[1]! === 6 && active === 0;
    },
    30_000,
    'six finished deliveries and no active job in the metrics',
  );

  assert.equal(sampleValue(samples, 'hookline_messages_accepted_total', { event_type: 'trap.set' }), 2);
  assert.equal(sampleValue(samples, 'hookline_deliveries_finished_total', { outcome: 'success' }), 4);
  assert.equal(sampleValue(samples, 'hookline_deliveries_finished_total', { outcome: 'fail' }), 2);
  assert.equal(sampleValue(samples, 'hookline_attempts_total', { outcome: 'success', status_class: '2xx' }), 4);
  assert.equal(sampleValue(samples, 'hookline_attempts_total', { outcome: 'fail', status_class: '5xx' }), 8);
  assert.equal(sampleValue(samples, 'hookline_retries_scheduled_total'), 6);
  assert.equal(sampleValue(samples, 'hookline_attempt_duration_seconds_count', { outcome: 'success' }), 4);
  assert.equal(sampleValue(samples, 'hookline_attempt_duration_seconds_count', { outcome: 'fail' }), 8);
  assert.equal(sampleValue(samples, 'hookline_delivery_delay_seconds_count'), 4);
  assert.equal(receiver.requests.length, 12, 'one request per counted attempt');

  assert.equal(sampleValue(samples, 'hookline_http_requests_total', { method: 'POST', route: '/api/v1/app/:app_id/msg', status_code: '202' }), 2);
  assert.equal(sampleValue(samples, 'hookline_http_requests_total', { method: 'POST', route: '/api/v1/app/:app_id/endpoint', status_code: '201' }), 3);
  assert.equal(sampleValue(samples, 'hookline_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/app/:app_id/msg' }), 2);

  for (const queue of ['events', 'webhooks']) {
    for (const state of ['waiting', 'delayed', 'active']) {
      assert.equal(sampleValue(samples, 'hookline_queue_jobs', { queue, state }), 0, `${queue} ${state}`);
    }
    assert.equal(sampleValue(samples, 'hookline_queue_oldest_job_age_seconds', { queue }), 0);
  }
  assert.equal(sampleValue(samples, 'hookline_outbox_backlog'), 0);
  assert.equal(sampleValue(samples, 'hookline_disabled_endpoints'), 0);
  assert.equal(sampleValue(samples, 'hookline_open_breakers'), 0);
  assert.ok((sampleValue(samples, 'hookline_process_resident_memory_bytes') ?? 0) > 0, 'process metrics are exported');
});

test('metrics label unmatched paths as one route', async () => {
  const response = await fetch(`${hookline.url}/no/such/path/${Date.now()}`);
  assert.equal(response.status, 404);
  const { contentType, samples } = await scrape();
  assert.match(contentType, /^text\/plain/);
  assert.equal(sampleValue(samples, 'hookline_http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' }), 1);
  const routes = new Set(samples.filter((sample) => sample.name === 'hookline_http_requests_total').map((sample) => sample.labels.route));
  assert.ok(![...routes].some((route) => route?.startsWith('/no/')), 'no series per requested path');
});

test('metrics off removes the route', async () => {
  const quiet = await startTestHookline({ metrics: false });
  try {
    const response = await fetch(`${quiet.url}/metrics`);
    assert.equal(response.status, 404);
    assert.equal(quiet.metrics, undefined);
  } finally {
    await quiet.destroy();
  }
});
