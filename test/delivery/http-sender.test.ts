import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import {
  createWebhookSender,
  type SendResult,
  type WebhookSender,
  type WebhookSenderOptions,
} from '../../src/delivery/http-sender.js';
import { generateSecret } from '../../src/signing/secret.js';
import { signatureHeader } from '../../src/signing/signature.js';
import { fakeLookup } from './fake-lookup.js';
import { answer, startReceiver, type Receiver, type ReceiverHandler } from './receiver.js';

const loopback = ['127.0.0.0/8', '::1/128'];
const body = Buffer.from('{"type":"trap.set","data":{"id":1}}');

function createTestSender(t: TestContext, options: WebhookSenderOptions = {}): WebhookSender {
  const sender = createWebhookSender({
    allowedCidrs: loopback,
    lookup: fakeLookup({ localhost: ['127.0.0.1'] }),
    timeoutMs: 2_000,
    ...options,
  });
  t.after(() => sender.close());
  return sender;
}

async function createTestReceiver(t: TestContext, handler: ReceiverHandler): Promise<Receiver> {
  const receiver = await startReceiver(handler);
  t.after(() => receiver.close());
  return receiver;
}

function assertResponse(result: SendResult): asserts result is Extract<SendResult, { kind: 'response' }> {
  assert.equal(result.kind, 'response', JSON.stringify(result));
}

function assertError(result: SendResult, reason: string): void {
  assert.equal(result.kind, 'error', JSON.stringify(result));
  assert.equal(result.kind === 'error' && result.reason, reason, JSON.stringify(result));
}

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`Condition not met within ${timeoutMs} ms.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('send returns 2xx responses', async (t) => {
  const sender = createTestSender(t);
  for (const statusCode of [200, 201, 202, 204]) {
    const text = statusCode === 204 ? '' : `accepted ${statusCode}`;
    const receiver = await createTestReceiver(t, answer(statusCode, text));
    const result = await sender.send({ url: `http://127.0.0.1:${receiver.port}/hook`, headers: {}, body });
    assertResponse(result);
    assert.equal(result.statusCode, statusCode);
    assert.equal(result.body, text);
    assert.equal(result.truncated, false);
    assert.ok(result.durationMs >= 0);
    assert.equal(receiver.requests.length, 1);
  }
});

test('send returns a 500 as a response', async (t) => {
  const receiver = await createTestReceiver(t, answer(500, 'database down'));
  const result = await createTestSender(t).send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body });
  assertResponse(result);
  assert.equal(result.statusCode, 500);
  assert.equal(result.body, 'database down');
});

test('send returns response headers', async (t) => {
  const receiver = await createTestReceiver(t, answer(429, '', { 'retry-after': '30', 'x-request-id': 'abc' }));
  const result = await createTestSender(t).send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body });
  assertResponse(result);
  assert.equal(result.statusCode, 429);
  assert.equal(result.headers['retry-after'], '30');
  assert.equal(result.headers['x-request-id'], 'abc');
});

test('send does not follow redirects', async (t) => {
  const target = await createTestReceiver(t, answer(200));
  const redirecting = await createTestReceiver(
    t,
    answer(302, 'moved', { location: `http://127.0.0.1:${target.port}/elsewhere` }),
  );
  const result = await createTestSender(t).send({
    url: `http://127.0.0.1:${redirecting.port}/hook`,
    headers: {},
    body,
  });
  assertResponse(result);
  assert.equal(result.statusCode, 302);
  assert.equal(result.headers.location, `http://127.0.0.1:${target.port}/elsewhere`);
  assert.equal(redirecting.requests.length, 1);
  assert.equal(target.requests.length, 0);
  assert.equal(target.connections, 0);
});

test('send times out on a silent receiver', async (t) => {
  const receiver = await createTestReceiver(t, () => {
    // Never responds.
  });
  const sender = createTestSender(t, { timeoutMs: 300 });
  const started = Date.now();
  const result = await sender.send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body });
  const elapsed = Date.now() - started;
  assertError(result, 'timeout');
  assert.match(result.kind === 'error' ? result.message : '', /300 ms while connecting or waiting for the response headers/);
  assert.ok(elapsed >= 290, `returned after ${elapsed} ms`);
  assert.ok(elapsed < 1_500, `returned after ${elapsed} ms`);
  assert.ok(result.durationMs >= 290, `durationMs ${result.durationMs}`);
  assert.ok(result.durationMs < 1_500, `durationMs ${result.durationMs}`);
});

test('send times out on a trickling body', async (t) => {
  const timers = new Set<NodeJS.Timeout>();
  t.after(() => timers.forEach((timer) => clearInterval(timer)));
  const receiver = await createTestReceiver(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('a');
    const timer = setInterval(() => response.write('b'), 20);
    timers.add(timer);
    response.on('close', () => clearInterval(timer));
  });
  const sender = createTestSender(t, { timeoutMs: 300 });
  const started = Date.now();
  const result = await sender.send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body });
  const elapsed = Date.now() - started;
  assertError(result, 'timeout');
  assert.match(result.kind === 'error' ? result.message : '', /while reading the response body/);
  assert.ok(elapsed >= 290, `returned after ${elapsed} ms`);
  assert.ok(elapsed < 1_500, `returned after ${elapsed} ms`);
});

test('send reports a destroyed socket as reset', async (t) => {
  const receiver = await createTestReceiver(t, (request) => {
    request.socket.destroy();
  });
  const result = await createTestSender(t).send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body });
  assertError(result, 'connection_reset');
  assert.equal(receiver.requests.length, 1);
});

test('send reports a closed port as refused', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));

  const result = await createTestSender(t).send({ url: `http://127.0.0.1:${port}/`, headers: {}, body });
  assertError(result, 'connection_refused');
});

test('send truncates a large response body', async (t) => {
  let closed = false;
  const large = 'x'.repeat(1024 * 1024);
  const receiver = await createTestReceiver(t, (_request, response) => {
    response.on('close', () => {
      closed = true;
    });
    response.writeHead(200);
    response.end(large);
  });
  const result = await createTestSender(t, { maxResponseBytes: 1000 }).send({
    url: `http://127.0.0.1:${receiver.port}/`,
    headers: {},
    body,
  });
  assertResponse(result);
  assert.equal(result.statusCode, 200);
  assert.equal(result.body, 'x'.repeat(1000));
  assert.equal(result.truncated, true);
  // The sender closes the connection instead of draining the remaining megabyte.
  await waitFor(() => closed);
});

test('send keeps a body of exactly the cap whole', async (t) => {
  const receiver = await createTestReceiver(t, answer(200, 'y'.repeat(1000)));
  const result = await createTestSender(t, { maxResponseBytes: 1000 }).send({
    url: `http://127.0.0.1:${receiver.port}/`,
    headers: {},
    body,
  });
  assertResponse(result);
  assert.equal(result.body.length, 1000);
  assert.equal(result.truncated, false);
});

test('send drops a character cut by the cap', async (t) => {
  // "é" is two bytes in UTF-8, so a cap of 4 bytes ends inside the second one.
  const receiver = await createTestReceiver(t, answer(200, 'aéé'));
  const result = await createTestSender(t, { maxResponseBytes: 4 }).send({
    url: `http://127.0.0.1:${receiver.port}/`,
    headers: {},
    body,
  });
  assertResponse(result);
  assert.equal(result.body, 'aé');
  assert.equal(result.truncated, true);
});

test('send delivers exact bytes and headers', async (t) => {
  const receiver = await createTestReceiver(t, answer(204));
  const payload = Buffer.concat([
    Buffer.from('{"text":"Zoë 🪤 \u2028 end","raw":"', 'utf8'),
    Buffer.from([0xff, 0x00, 0xc3]),
    Buffer.from('"}', 'utf8'),
  ]);
  const result = await createTestSender(t, { userAgent: 'Hookline/1.2.3' }).send({
    url: `http://127.0.0.1:${receiver.port}/hooks/in?source=test&x=%20y`,
    headers: {
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': 'v1,abc',
      'X-Custom-Header': 'custom value',
      'Content-Type': 'text/plain',
      'User-Agent': 'someone else',
      'Content-Length': '3',
      Host: 'elsewhere.test',
    },
    body: payload,
  });
  assertResponse(result);

  const [received] = receiver.requests;
  assert.ok(received);
  assert.equal(received.method, 'POST');
  assert.equal(received.url, '/hooks/in?source=test&x=%20y');
  assert.deepEqual(received.body, payload);
  assert.equal(received.headers['webhook-id'], 'msg_1');
  assert.equal(received.headers['webhook-timestamp'], '1700000000');
  assert.equal(received.headers['webhook-signature'], 'v1,abc');
  assert.equal(received.headers['x-custom-header'], 'custom value');
  assert.equal(received.headers['content-type'], 'application/json');
  assert.equal(received.headers['user-agent'], 'Hookline/1.2.3');
  assert.equal(received.headers['content-length'], String(payload.length));
  assert.equal(received.headers.host, `127.0.0.1:${receiver.port}`);
});

test('send delivers a signature the receiver verifies', async (t) => {
  const secret = generateSecret();
  const verifier = new StandardWebhook(secret);
  const verified: unknown[] = [];
  const receiver = await createTestReceiver(t, (request, response, received) => {
    verified.push(verifier.verify(received, request.headers as Record<string, string>));
    response.writeHead(200);
    response.end();
  });
  const payload = Buffer.from('{"type":"trap.set","data":{"name":"Piège à loup 🪤"}}', 'utf8');
  const timestamp = Math.floor(Date.now() / 1000);
  const result = await createTestSender(t).send({
    url: `http://localhost:${receiver.port}/`,
    headers: {
      'webhook-id': 'msg_2mQ6QzS1nPFzFvBgbbSEvbAzR8Y',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader([secret], 'msg_2mQ6QzS1nPFzFvBgbbSEvbAzR8Y', timestamp, payload),
    },
    body: payload,
  });
  assertResponse(result);
  assert.equal(result.statusCode, 200);
  assert.deepEqual(verified, [JSON.parse(payload.toString('utf8'))]);
});

test('send reuses pooled connections', async (t) => {
  const receiver = await createTestReceiver(t, answer(200, 'ok'));
  // One connection per origin, because with no limit undici may open a second one while
  // the first is still being released.
  const sender = createTestSender(t, { connections: 1 });
  for (let index = 0; index < 3; index += 1) {
    assertResponse(await sender.send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body }));
  }
  assert.equal(receiver.requests.length, 3);
  assert.equal(receiver.connections, 1);
});

test('send turns URL credentials into basic auth', async (t) => {
  const receiver = await createTestReceiver(t, answer(200));
  const result = await createTestSender(t).send({
    url: `http://hook%40user:p%3Ass@127.0.0.1:${receiver.port}/`,
    headers: {},
    body,
  });
  assertResponse(result);
  const expected = `Basic ${Buffer.from('hook@user:p:ss').toString('base64')}`;
  assert.equal(receiver.requests[0]?.headers.authorization, expected);
});

test('send rejects invalid URLs', async (t) => {
  const sender = createTestSender(t);
  const urls = ['not a url', 'ftp://127.0.0.1/file', 'file:///etc/passwd', 'http://08.1.1.1/', 'http://%zz@127.0.0.1/'];
  for (const url of urls) {
    const result = await sender.send({ url, headers: {}, body });
    assertError(result, 'invalid_url');
  }
});

test('send reports a failed lookup as dns', async (t) => {
  const result = await createTestSender(t).send({ url: 'http://unknown.hookline.test/', headers: {}, body });
  assertError(result, 'dns');
  assert.match(result.kind === 'error' ? result.message : '', /unknown\.hookline\.test/);
});

test('send rejects when the caller aborts', async (t) => {
  const receiver = await createTestReceiver(t, () => {
    // Never responds, so only the abort ends the request.
  });
  const controller = new AbortController();
  const reason = new Error('shutting down');
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(
    createTestSender(t).send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body, signal: controller.signal }),
    (error) => error === reason,
  );
});

test('createWebhookSender rejects invalid options', () => {
  assert.throws(() => createWebhookSender({ timeoutMs: 0 }), /Invalid timeoutMs 0/);
  assert.throws(() => createWebhookSender({ maxResponseBytes: -1 }), /Invalid maxResponseBytes -1/);
  assert.throws(() => createWebhookSender({ allowedCidrs: ['127.0.0.1'] }), /Invalid allowed CIDR range "127.0.0.1"/);
});
