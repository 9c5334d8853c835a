import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startReceiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { redisUnavailable } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

const sizes = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type Granularity = keyof typeof sizes;

interface AttemptSeen {
  endpointId: string;
  time: number;
  success: boolean;
}

/** Creates a clock that runs at real speed from a chosen start and can jump forward. */
function jumpingClock(start: number) {
  const realStart = Date.now();
  let offset = 0;
  return {
    now: () => start + (Date.now() - realStart) + offset,
    jumpTo(target: number) {
      offset += target - (start + (Date.now() - realStart) + offset);
    },
  };
}

async function attemptsOf(hookline: TestHookline, endpointId: string): Promise<AttemptSeen[]> {
  const response = await hookline.request('GET', `/api/v1/app/stats/attempt/endpoint/${endpointId}?limit=250`);
  assert.equal(response.status, 200);
  assert.equal(response.body.done, true);
  return response.body.data.map((attempt: any) => ({ endpointId, time: Date.parse(attempt.timestamp), success: attempt.status === 0 }));
}

/** Counts attempts per bucket start of `granularity` from `since` to `until`, empty buckets included. */
function expectedSeries(attempts: AttemptSeen[], granularity: Granularity, since: number, until: number) {
  const size = sizes[granularity];
  const buckets: { start: string; success: number; fail: number }[] = [];
  for (let start = Math.floor(since / size) * size; start < until; start += size) {
    const inside = attempts.filter((attempt) => attempt.time >= start && attempt.time < start + size);
    buckets.push({
      start: new Date(start).toISOString(),
      success: inside.filter((attempt) => attempt.success).length,
      fail: inside.filter((attempt) => !attempt.success).length,
    });
  }
  return buckets;
}

async function checkStatisticsAgree(context: TestContext, mode: 'embedded' | 'scaled'): Promise<void> {
  const receiver = await startReceiver((request, response) => {
    const failed = request.url === '/fail';
    response.writeHead(failed ? 503 : 200);
    response.end();
  });
  // Attempts start one minute before midnight UTC, so the batches below cross a minute,
  // an hour and a day boundary.
  const midnight = Date.UTC(2031, 4, 6);
  const clock = jumpingClock(midnight - 50_000);
  const hookline = await startTestHookline({ retrySchedule: [50, 100] }, { api: true, worker: true }, mode, { clock: clock.now });
  context.after(async () => {
    await hookline.destroy();
    await receiver.close();
  });

  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Statistics', uid: 'stats' })).status, 201);
  const endpointIds: string[] = [];
  for (const path of ['/ok', '/fail']) {
    const endpoint = await hookline.request('POST', '/api/v1/app/stats/endpoint', { url: `http://127.0.0.1:${receiver.port}${path}` });
    assert.equal(endpoint.status, 201);
    endpointIds.push(endpoint.body.id);
  }

  // Each message makes 1 attempt at /ok and 3 at /fail.
  const since = clock.now();
  let expectedAttempts = 0;
  for (const [jumpTo, messages] of [
    [undefined, 3],
    [midnight + 30_000, 2],
    [midnight + 70 * 60_000, 1],
  ] as const) {
    if (jumpTo !== undefined) {
      clock.jumpTo(jumpTo);
    }
    for (let n = 0; n < messages; n += 1) {
      assert.equal((await hookline.request('POST', '/api/v1/app/stats/msg', { eventType: 'trap.set', payload: { n } })).status, 202);
    }
    expectedAttempts += messages * 4;
    await waitFor(() => receiver.requests.length === expectedAttempts, 20_000, `${expectedAttempts} attempts`);
  }
  // The last attempt is received before it is recorded and counted.
  let attempts: AttemptSeen[] = [];
  await waitFor(
    async () => {
      attempts = (await Promise.all(endpointIds.map((id) => attemptsOf(hookline, id)))).flat();
      return attempts.length === expectedAttempts;
    },
    10_000,
    'every attempt recorded',
  );
  // Observers run after the attempt is recorded, so the last counts may arrive a moment later.
  await waitFor(
    async () => {
      await hookline.statistics?.flush();
      const day = await hookline.request('GET', `/api/v1/app/stats/stats/attempts?granularity=day&since=${new Date(since).toISOString()}`);
      const counted = day.body.data.reduce((sum: number, point: any) => sum + point.success + point.fail, 0);
      return counted === expectedAttempts;
    },
    10_000,
    'every attempt counted in the statistics',
  );
  const until = clock.now() + 1;

  const days = new Set(attempts.map((attempt) => Math.floor(attempt.time / sizes.day)));
  assert.equal(days.size, 2, 'the attempts fall on two days');

  const range = `since=${new Date(since).toISOString()}&until=${new Date(until).toISOString()}`;
  for (const granularity of ['minute', 'hour', 'day'] as const) {
    const series = await hookline.request('GET', `/api/v1/app/stats/stats/attempts?granularity=${granularity}&${range}`);
    assert.equal(series.status, 200, JSON.stringify(series.body));
    assert.equal(series.body.granularity, granularity);
    const counts = series.body.data.map(({ start, success, fail }: any) => ({ start, success, fail }));
    assert.deepEqual(counts, expectedSeries(attempts, granularity, since, until), `${granularity} buckets of the application`);

    for (const point of series.body.data) {
      const attemptsInBucket = point.success + point.fail;
      assert.equal(point.p50Ms === null, attemptsInBucket === 0, `p50 of ${point.start}`);
      assert.equal(point.p95Ms === null, attemptsInBucket === 0, `p95 of ${point.start}`);
    }

    for (const endpointId of endpointIds) {
      const perEndpoint = await hookline.request('GET', `/api/v1/app/stats/stats/attempts?granularity=${granularity}&${range}&endpoint_id=${endpointId}`);
      assert.equal(perEndpoint.status, 200);
      assert.deepEqual(
        perEndpoint.body.data.map(({ start, success, fail }: any) => ({ start, success, fail })),
        expectedSeries(
          attempts.filter((attempt) => attempt.endpointId === endpointId),
          granularity,
          since,
          until,
        ),
        `${granularity} buckets of ${endpointId}`,
      );
    }

    const admin = await hookline.request('GET', `/api/v1/stats/attempts?granularity=${granularity}&${range}`);
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.body.data, series.body.data, `${granularity} buckets of every application`);
  }

  const ranking = await hookline.request('GET', `/api/v1/app/stats/stats/endpoints?${range}`);
  assert.equal(ranking.status, 200);
  assert.deepEqual(
    ranking.body.data.map(({ endpointId, success, fail, successRate }: any) => ({ endpointId, success, fail, successRate })),
    [
      { endpointId: endpointIds[1], success: 0, fail: 18, successRate: 0 },
      { endpointId: endpointIds[0], success: 6, fail: 0, successRate: 1 },
    ],
  );
  assert.equal(ranking.body.data[0].url, `http://127.0.0.1:${receiver.port}/fail`);
}

test('statistics agree with attempts on SQLite', { timeout: 90_000 }, async (context) => {
  await checkStatisticsAgree(context, 'embedded');
});

test('statistics agree with attempts on PostgreSQL', { timeout: 90_000 }, async (context) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  await checkStatisticsAgree(context, 'scaled');
});

test('statistics reject a range of too many buckets', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());

  const tooLong = await hookline.request('GET', '/api/v1/stats/attempts?granularity=minute&since=2030-01-01T00:00:00Z&until=2030-02-01T00:00:00Z');
  assert.equal(tooLong.status, 422);
  assert.deepEqual(tooLong.body.detail[0].loc, ['query', 'since']);

  const reversed = await hookline.request('GET', '/api/v1/stats/attempts?since=2030-02-01T00:00:00Z&until=2030-01-01T00:00:00Z');
  assert.equal(reversed.status, 422);

  const badGranularity = await hookline.request('GET', '/api/v1/stats/attempts?granularity=week');
  assert.equal(badGranularity.status, 422);
  assert.deepEqual(badGranularity.body.detail[0].loc, ['query', 'granularity']);

  const missingApp = await hookline.request('GET', '/api/v1/app/nope/stats/attempts');
  assert.equal(missingApp.status, 404);
});

test('system overview reports queues and throughput', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Overview', uid: 'overview' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/overview/msg', { eventType: 'trap.set', payload: {} })).status, 202);

  const overview = await hookline.request('GET', '/api/v1/system/overview');
  assert.equal(overview.status, 200);
  assert.equal(overview.body.mode, 'embedded');
  assert.deepEqual(
    overview.body.queues.map((queue: any) => queue.name),
    ['events', 'webhooks'],
  );
  assert.equal(overview.body.outboxBacklog, 0);
  assert.equal(overview.body.disabledEndpoints, 0);
  assert.equal(overview.body.throughput.acceptedLastMinute, 1);
  assert.equal(typeof overview.body.throughput.attemptsLastMinute, 'number');
});

test('statistics off records nothing', async (context) => {
  const receiver = await startReceiver((_request, response) => {
    response.writeHead(204);
    response.end();
  });
  const hookline = await startTestHookline({ stats: false });
  context.after(async () => {
    await hookline.destroy();
    await receiver.close();
  });
  assert.equal(hookline.statistics, undefined);

  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Quiet', uid: 'quiet' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/quiet/endpoint', { url: `http://127.0.0.1:${receiver.port}/` })).status, 201);
  const message = await hookline.request('POST', '/api/v1/app/quiet/msg', { eventType: 'trap.set', payload: {} });
  await waitFor(async () => (await hookline.request('GET', `/api/v1/app/quiet/msg/${message.body.id}/attempt`)).body?.data?.length === 1);

  const series = await hookline.request('GET', '/api/v1/app/quiet/stats/attempts?granularity=minute');
  assert.equal(series.status, 200);
  assert.equal(series.body.data.length, 24);
  assert.ok(
    series.body.data.every((point: any) => point.success === 0 && point.fail === 0),
    'no bucket counts the attempt',
  );
});
