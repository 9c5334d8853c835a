import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnHookline, stopHookline } from '../helpers/hookline-process.js';
import { prepareScaledBackends, startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';
import { redisUnavailable, testRedisUrl } from '../helpers/redis.js';
import { openEventStream } from '../helpers/sse-client.js';
import { storeDrivers } from '../helpers/store.js';

/** Starts two API processes on one PostgreSQL schema and one Redis prefix; only the first runs workers. */
async function startTwoApis(context: test.TestContext): Promise<[TestHookline, TestHookline] | undefined> {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return undefined;
  }
  const backends = await prepareScaledBackends();
  const shared = { databaseUrl: backends.databaseUrl, redisUrl: testRedisUrl, redisPrefix: backends.redisPrefix };
  const first = await startTestHookline(shared, { api: true, worker: true });
  const second = await startTestHookline(shared, { api: true, worker: false });
  context.after(async () => {
    await second.destroy();
    await first.destroy();
    await backends.cleanup();
  });
  return [first, second];
}

async function getEvents(baseUrl: string, app: string, query: string) {
  const response = await fetch(`${baseUrl}/api/v1/app/${app}/events${query}`, { headers: { authorization: `Bearer ${testAdminToken}` } });
  return { status: response.status, body: (await response.json()) as any };
}

test('long poll in one API process returns a message accepted by another', async (context) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  // The accepting API runs in this process; the polling API is a `hookline api` child process.
  const backends = await prepareScaledBackends();
  const accepting = await startTestHookline({ databaseUrl: backends.databaseUrl, redisUrl: testRedisUrl, redisPrefix: backends.redisPrefix });
  const polling = await spawnHookline(
    { DATABASE_URL: backends.databaseUrl, REDIS_URL: testRedisUrl, HOOKLINE_REDIS_PREFIX: backends.redisPrefix, HOOKLINE_LOG_LEVEL: 'debug' },
    { command: 'api' },
  );
  context.after(async () => {
    await stopHookline(polling);
    await accepting.destroy();
    await backends.cleanup();
  });
  assert.equal((await accepting.request('POST', '/api/v1/app', { name: 'Poll', uid: 'scaled-poll' })).status, 201);
  const start = await getEvents(polling.url, 'scaled-poll', '');

  const poll = getEvents(polling.url, 'scaled-poll', `?wait=30&iterator=${start.body.iterator}`);
  await waitFor(() => polling.logs.some((line) => JSON.stringify(line).includes('wait=30')), 10_000, 'the poll to arrive');
  const sent = await accepting.request('POST', '/api/v1/app/scaled-poll/msg', { eventType: 'trap.set', payload: { via: 'first' } });
  assert.equal(sent.status, 202);

  const result = await poll;
  assert.equal(result.status, 200);
  assert.deepEqual(result.body.data.map((message: any) => message.id), [sent.body.id]);
  assert.deepEqual(result.body.data[0].payload, { via: 'first' });

  const empty = await getEvents(polling.url, 'scaled-poll', `?wait=0.5&iterator=${result.body.iterator}`);
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.body.data, []);
  assert.equal(empty.body.iterator, result.body.iterator);
});

test('readers miss no message while two API processes accept concurrently', { timeout: 120_000 }, async (context) => {
  const apis = await startTwoApis(context);
  if (!apis) {
    return;
  }
  const [first, second] = apis;
  assert.equal((await first.request('POST', '/api/v1/app', { name: 'Race', uid: 'scaled-race' })).status, 201);
  const stream = await openEventStream(`${second.url}/api/v1/app/scaled-race/events/stream?iterator=0`, testAdminToken);
  context.after(() => stream.close());

  // A pull reader pages with the iterator while writers commit in parallel on both processes.
  const rounds = 8;
  const perRound = 10;
  const pulled: string[] = [];
  const reader = (async () => {
    let iterator = '0';
    while (pulled.length < rounds * perRound) {
      const page = await getEvents(second.url, 'scaled-race', `?limit=7&wait=5&iterator=${iterator}`);
      assert.equal(page.status, 200);
      pulled.push(...page.body.data.map((message: any) => message.id as string));
      iterator = page.body.iterator;
    }
    // Nothing beyond the messages sent.
    const rest = await getEvents(second.url, 'scaled-race', `?iterator=${iterator}`);
    pulled.push(...rest.body.data.map((message: any) => message.id as string));
  })();

  const sent: string[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const batch = await Promise.all(
      Array.from({ length: perRound }, (_, index) =>
        (index % 2 === 0 ? first : second).request('POST', '/api/v1/app/scaled-race/msg', { eventType: 'trap.set', payload: { round, index } }),
      ),
    );
    for (const response of batch) {
      assert.equal(response.status, 202);
      sent.push(response.body.id as string);
    }
  }
  await reader;
  await waitFor(() => stream.events.length >= sent.length, 15_000, 'every message on the stream');

  const streamed = stream.events.map((event) => JSON.parse(event.data).id as string);
  assert.equal(new Set(pulled).size, pulled.length, 'the pull reader received a message twice');
  assert.deepEqual([...pulled].sort(), [...sent].sort());
  assert.equal(new Set(streamed).size, streamed.length, 'the stream sent a message twice');
  assert.deepEqual([...streamed].sort(), [...sent].sort());
  // Both readers see the same commit order.
  assert.deepEqual(streamed, pulled);
});
