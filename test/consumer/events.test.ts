import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SseParser } from '../../src/cli/sse-parser.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';
import { openEventStream } from '../helpers/sse-client.js';

async function createApp(hookline: TestHookline, uid: string): Promise<string> {
  const created = await hookline.request('POST', '/api/v1/app', { name: uid, uid });
  assert.equal(created.status, 201);
  return created.body.id as string;
}

async function send(hookline: TestHookline, app: string, eventType: string, payload: Record<string, unknown>, channels?: string[]) {
  const sent = await hookline.request('POST', `/api/v1/app/${app}/msg`, { eventType, payload, ...(channels ? { channels } : {}) });
  assert.equal(sent.status, 202);
  return sent.body.id as string;
}

async function appToken(hookline: TestHookline, app: string): Promise<string> {
  const access = await hookline.request('POST', `/api/v1/auth/app-portal-access/${app}`, {});
  assert.equal(access.status, 200);
  return access.body.token as string;
}

async function getEvents(hookline: TestHookline, app: string, query: string, token = testAdminToken) {
  const response = await fetch(`${hookline.url}/api/v1/app/${app}/events${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as any };
}

test('events lists messages in commit order and resumes after the iterator', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  await createApp(hookline, 'pull-order');

  const first = await getEvents(hookline, 'pull-order', '');
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.data, []);
  assert.equal(first.body.done, true);
  assert.equal(typeof first.body.iterator, 'string');

  const ids = [];
  for (let index = 0; index < 5; index += 1) {
    ids.push(await send(hookline, 'pull-order', 'trap.set', { index }));
  }

  const page = await getEvents(hookline, 'pull-order', `?limit=3&iterator=${first.body.iterator}`);
  assert.equal(page.status, 200);
  assert.deepEqual(page.body.data.map((message: any) => message.id), ids.slice(0, 3));
  assert.equal(page.body.done, false);
  assert.deepEqual(page.body.data[0].payload, { index: 0 });
  assert.equal(page.body.data[0].eventType, 'trap.set');

  const rest = await getEvents(hookline, 'pull-order', `?limit=3&iterator=${page.body.iterator}`);
  assert.deepEqual(rest.body.data.map((message: any) => message.id), ids.slice(3));
  assert.equal(rest.body.done, true);

  const after = await getEvents(hookline, 'pull-order', `?iterator=${rest.body.iterator}`);
  assert.deepEqual(after.body.data, []);
  assert.equal(after.body.iterator, rest.body.iterator);
});

test('events filters by event type, channel and time', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  await createApp(hookline, 'pull-filter');
  const set = await send(hookline, 'pull-filter', 'trap.set', { n: 1 }, ['north']);
  const diffuse = await send(hookline, 'pull-filter', 'trap.diffuse', { n: 2 }, ['south']);
  const both = await send(hookline, 'pull-filter', 'trap.set', { n: 3 }, ['south', 'east']);

  const byType = await getEvents(hookline, 'pull-filter', '?event_types=trap.set');
  assert.deepEqual(byType.body.data.map((message: any) => message.id), [set, both]);
  const byChannel = await getEvents(hookline, 'pull-filter', '?channels=south');
  assert.deepEqual(byChannel.body.data.map((message: any) => message.id), [diffuse, both]);
  const byChannels = await getEvents(hookline, 'pull-filter', '?channels=north,east');
  assert.deepEqual(byChannels.body.data.map((message: any) => message.id), [set, both]);
  const future = await getEvents(hookline, 'pull-filter', `?after=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
  assert.deepEqual(future.body.data, []);

  // The iterator of a filtered read skips what the filter left out, so the next read starts after it.
  const resumed = await getEvents(hookline, 'pull-filter', `?event_types=trap.diffuse&iterator=${byType.body.iterator}`);
  assert.deepEqual(resumed.body.data, []);
});

test('events rejects bad parameters with 422 naming the field', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  await createApp(hookline, 'pull-bad');

  for (const [query, field] of [
    ['?iterator=nonsense', 'iterator'],
    ['?wait=31', 'wait'],
    ['?wait=-1', 'wait'],
    ['?limit=0', 'limit'],
    ['?after=yesterday', 'after'],
    ['?channels=a%20b', 'channels'],
  ] as const) {
    const response = await getEvents(hookline, 'pull-bad', query);
    assert.equal(response.status, 422, query);
    assert.equal(response.body.detail[0].loc[1], field, query);
  }

  const missing = await getEvents(hookline, 'no-such-app', '');
  assert.equal(missing.status, 404);
});

test('events accepts an application token for its own application only', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  await createApp(hookline, 'pull-token-a');
  await createApp(hookline, 'pull-token-b');
  const id = await send(hookline, 'pull-token-a', 'trap.set', { a: 1 });
  const token = await appToken(hookline, 'pull-token-a');

  const own = await getEvents(hookline, 'pull-token-a', '', token);
  assert.equal(own.status, 200);
  assert.deepEqual(own.body.data.map((message: any) => message.id), [id]);
  const other = await getEvents(hookline, 'pull-token-b', '', token);
  assert.equal(other.status, 403);

  const stream = await openEventStream(`${hookline.url}/api/v1/app/pull-token-a/events/stream?iterator=0`, token);
  context.after(() => stream.close());
  assert.equal(stream.response.statusCode, 200);
  await waitFor(() => stream.events.length === 1, 10_000, 'the stream to deliver the stored message');
  assert.equal(JSON.parse(stream.events[0]?.data ?? '{}').id, id);
});

test('events long poll returns the message posted while it waits', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  await createApp(hookline, 'pull-wait');
  const start = await getEvents(hookline, 'pull-wait', '');

  const polling = getEvents(hookline, 'pull-wait', `?wait=30&iterator=${start.body.iterator}`);
  await waitFor(() => hookline.logs.some((line) => JSON.stringify(line).includes('wait=30')), 10_000, 'the poll to arrive');
  const id = await send(hookline, 'pull-wait', 'trap.set', { late: true });
  const result = await polling;
  assert.equal(result.status, 200);
  assert.deepEqual(result.body.data.map((message: any) => message.id), [id]);

  const empty = await getEvents(hookline, 'pull-wait', `?wait=0.3&iterator=${result.body.iterator}`);
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.body.data, []);
  assert.equal(empty.body.done, true);
  assert.equal(empty.body.iterator, result.body.iterator);
});

test('event stream sends heartbeats and new messages with their position as id', async (context) => {
  const hookline = await startTestHookline({ streamHeartbeat: 200 });
  context.after(() => hookline.destroy());
  await createApp(hookline, 'stream-live');
  const before = await send(hookline, 'stream-live', 'trap.set', { old: true });

  const stream = await openEventStream(`${hookline.url}/api/v1/app/stream-live/events/stream`, testAdminToken);
  context.after(() => stream.close());
  assert.equal(stream.response.headers['content-type'], 'text/event-stream; charset=utf-8');
  await waitFor(() => stream.comments.some((comment) => comment.startsWith('heartbeat')), 10_000, 'a heartbeat');

  const after = await send(hookline, 'stream-live', 'trap.diffuse', { old: false });
  await waitFor(() => stream.events.length === 1, 10_000, 'the new message');
  const event = stream.events[0];
  const message = JSON.parse(event?.data ?? '{}');
  assert.equal(message.id, after);
  assert.notEqual(message.id, before);
  assert.equal(message.eventType, 'trap.diffuse');

  // The event id is a pull API iterator: reading after it returns nothing more.
  const next = await getEvents(hookline, 'stream-live', `?iterator=${event?.id}`);
  assert.deepEqual(next.body.data, []);
});

test('event stream resumes with Last-Event-ID after a restart', async (context) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-stream-restart-'));
  context.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let hookline = await startTestHookline({ dataDir });
  context.after(() => hookline.destroy());
  await createApp(hookline, 'stream-restart');

  const sent: string[] = [];
  const received: string[] = [];
  const first = await openEventStream(`${hookline.url}/api/v1/app/stream-restart/events/stream?iterator=0`, testAdminToken);
  for (let index = 0; index < 5; index += 1) {
    sent.push(await send(hookline, 'stream-restart', 'trap.set', { index }));
  }
  await waitFor(() => first.events.length === 5, 10_000, 'five events before the restart');

  // The shutdown ends the stream; messages accepted while the client is away must not be lost.
  await hookline.close();
  await first.ended;
  received.push(...first.events.map((event) => JSON.parse(event.data).id as string));
  const lastEventId = first.events.at(-1)?.id;
  assert.ok(lastEventId);

  hookline = await startTestHookline({ dataDir });
  for (let index = 5; index < 10; index += 1) {
    sent.push(await send(hookline, 'stream-restart', 'trap.set', { index }));
  }
  const second = await openEventStream(`${hookline.url}/api/v1/app/stream-restart/events/stream`, testAdminToken, lastEventId);
  context.after(() => second.close());
  for (let index = 10; index < 12; index += 1) {
    sent.push(await send(hookline, 'stream-restart', 'trap.set', { index }));
  }
  await waitFor(() => second.events.length === 7, 10_000, 'the missed and the new events');
  received.push(...second.events.map((event) => JSON.parse(event.data).id as string));
  assert.deepEqual(received, sent);
});

test('event stream stops reading while a slow client does not read', async (context) => {
  const hookline = await startTestHookline({ maxPayloadSize: 1024 * 1024 });
  context.after(() => hookline.destroy());
  await createApp(hookline, 'stream-slow');

  const serverSockets: Socket[] = [];
  hookline.server?.server.on('connection', (socket: Socket) => serverSockets.push(socket));

  // A client that sends the request and then reads nothing.
  const received: number[] = [];
  const parser = new SseParser({ onEvent: (event) => received.push(JSON.parse(event.data).payload.index as number) });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const clientRequest = request(`${hookline.url}/api/v1/app/stream-slow/events/stream?iterator=0`, {
      headers: { authorization: `Bearer ${testAdminToken}` },
    });
    clientRequest.on('response', resolve).on('error', reject).end();
    context.after(() => clientRequest.destroy());
  });
  response.pause();
  await waitFor(() => serverSockets.length === 1, 10_000, 'the server side of the connection');
  const serverSocket = serverSockets[0] as Socket;

  // 120 messages of 200 KB: far more than the kernel's socket buffers on loopback hold.
  const count = 120;
  const filler = 'x'.repeat(200 * 1024);
  let maxBuffered = 0;
  const sample = setInterval(() => {
    maxBuffered = Math.max(maxBuffered, serverSocket.writableLength);
  }, 5);
  context.after(() => clearInterval(sample));
  for (let index = 0; index < count; index += 1) {
    await send(hookline, 'stream-slow', 'trap.set', { index, filler });
  }

  // Wait until the server is blocked on the full socket: the buffer stays non-empty.
  let stalledSamples = 0;
  await waitFor(
    () => {
      stalledSamples = serverSocket.writableLength > 0 ? stalledSamples + 1 : 0;
      return stalledSamples >= 25;
    },
    20_000,
    'the server to block on the slow client',
  );
  clearInterval(sample);
  const eventBytes = filler.length + 1024;
  assert.ok(maxBuffered <= 16 * 1024 + 2 * eventBytes, `server buffered ${maxBuffered} bytes for one connection`);

  // Reading again drains the stream, and every message arrives once, in order.
  response.on('data', (chunk: Buffer) => parser.push(chunk));
  response.resume();
  await waitFor(() => received.length === count, 30_000, 'every event after the client reads again');
  assert.deepEqual(received, Array.from({ length: count }, (_, index) => index));
});

test('event stream rejects a foreign Last-Event-ID and starts at after', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  await createApp(hookline, 'stream-start');
  const old = await send(hookline, 'stream-start', 'trap.set', { n: 1 });

  const bad = await fetch(`${hookline.url}/api/v1/app/stream-start/events/stream`, {
    headers: { authorization: `Bearer ${testAdminToken}`, 'last-event-id': 'msg_not-a-position' },
  });
  assert.equal(bad.status, 422);
  const problem = (await bad.json()) as any;
  assert.deepEqual(problem.detail[0].loc, ['header', 'last-event-id']);

  const since = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
  const stream = await openEventStream(`${hookline.url}/api/v1/app/stream-start/events/stream?after=${since}`, testAdminToken);
  context.after(() => stream.close());
  await waitFor(() => stream.events.length === 1, 10_000, 'the message created after the given time');
  assert.equal(JSON.parse(stream.events[0]?.data ?? '{}').id, old);
});
