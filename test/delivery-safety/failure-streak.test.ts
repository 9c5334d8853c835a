import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { answer, startReceiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';

async function health(hookline: TestHookline, appId: string, endpointId: string) {
  const response = await hookline.request('GET', `/api/v1/app/${appId}/endpoint/${endpointId}/health`);
  assert.equal(response.status, 200);
  return response.body as { failingSince: string | null; consecutiveFailures: number };
}

test('failure streak outlives a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-streak-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const failing = await startReceiver(answer(500));
  t.after(() => failing.close());
  const healthy = await startReceiver(answer(204));
  t.after(() => healthy.close());
  const settings = { dataDir, retrySchedule: [100, 100, 100, 100, 100, 100, 100, 100] };

  const first = await startTestHookline(settings);
  const app = await first.request('POST', '/api/v1/app', { name: 'streak' });
  const endpoint = await first.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: `http://127.0.0.1:${failing.port}/fail` });
  assert.equal(endpoint.status, 201);
  await first.request('POST', `/api/v1/app/${app.body.id}/msg`, { eventType: 'streak.tick', payload: { n: 1 } });
  await waitFor(() => failing.requests.length >= 2, 10_000, 'two failed attempts');
  const before = await health(first, app.body.id, endpoint.body.id);
  assert.equal(typeof before.failingSince, 'string');
  await first.destroy();

  // A new process starts the breaker's count from zero, but the stored streak goes on.
  const second = await startTestHookline(settings);
  t.after(() => second.destroy());
  const seen = failing.requests.length;
  await waitFor(() => failing.requests.length >= seen + 2, 10_000, 'two failed attempts after the restart');
  const after = await health(second, app.body.id, endpoint.body.id);
  assert.equal(after.failingSince, before.failingSince);

  // A success ends the streak.
  const patched = await second.request('PATCH', `/api/v1/app/${app.body.id}/endpoint/${endpoint.body.id}`, { url: `http://127.0.0.1:${healthy.port}/ok` });
  assert.equal(patched.status, 200);
  await waitFor(() => healthy.requests.length >= 1, 10_000, 'a successful attempt');
  await waitFor(async () => (await health(second, app.body.id, endpoint.body.id)).failingSince === null, 10_000, 'the streak to end');
});
