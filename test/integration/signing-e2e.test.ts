import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Svix, type MessageOut } from 'svix';
import { answer } from '../delivery/receiver.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';
import {
  expectedSignature,
  startTimedReceiver,
  v1Signatures,
  verifies,
  verifyDelivery,
  type TimedReceiver,
} from './webhook-check.js';

let hookline: TestHookline;
let svix: Svix;
let receiver: TimedReceiver;

before(async () => {
  // A generous request timeout, so that a slow response on a loaded machine adds no attempt.
  hookline = await startTestHookline({ requestTimeout: 5_000 });
  svix = new Svix(testAdminToken, { serverUrl: hookline.url });
  receiver = await startTimedReceiver(answer(204));
});

after(async () => {
  await hookline.destroy();
  await receiver.close();
});

function randomSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function requestsTo(path: string) {
  return receiver.requests.filter((request) => request.url === path);
}

test('non-ASCII payload arrives byte for byte', async () => {
  const app = await svix.application.create({ name: 'Unicode', uid: 'unicode' });
  const secret = randomSecret();
  await svix.endpoint.create(app.id, { url: receiver.url('/unicode'), secret });

  const payloads: Record<string, unknown>[] = [
    { accents: 'Café crème, naïve façade, Ærøskøbing, ñandú' },
    { emoji: '🪤 set 🎉', flag: '🇫🇷', family: '👩‍👩‍👧' },
    { separators: 'line\u2028separator and paragraph\u2029separator' },
    { scripts: ['日本語', 'Русский', 'العربية', 'עברית', 'ελληνικά'] },
    { escapes: 'quote " backslash \\ slash / tab \t newline \n nul \u0000', lone: '\ud83d' },
    { nested: { 'clé 🔑': [1.5, -0, 1e21, true, null, { 'ü': 'ö' }] } },
  ];
  const messages: MessageOut[] = [];
  for (const payload of payloads) {
    messages.push(await svix.message.create(app.id, { eventType: 'text.check', payload }));
  }

  await waitFor(() => requestsTo('/unicode').length === payloads.length, 10_000, 'every webhook');
  for (const [index, payload] of payloads.entries()) {
    const message = messages[index];
    assert.ok(message);
    const received = requestsTo('/unicode').find((request) => request.headers['webhook-id'] === message.id);
    assert.ok(received, `no request for payload ${index}`);

    const expectedBytes = Buffer.from(JSON.stringify(payload), 'utf8');
    assert.ok(received.body.equals(expectedBytes), `payload ${index} bytes differ: ${received.body.toString('utf8')}`);
    assert.equal(received.headers['content-type'], 'application/json');
    assert.equal(Number(received.headers['content-length']), expectedBytes.length);
    assert.deepEqual(v1Signatures(received), [expectedSignature(secret, received)]);
    assert.deepEqual(verifyDelivery(secret, received), JSON.parse(JSON.stringify(payload)));

    const stored = await svix.message.get(app.id, message.id);
    assert.deepEqual(stored.payload, JSON.parse(JSON.stringify(payload)));
  }
});

test('signature header format', async () => {
  const app = await svix.application.create({ name: 'Header format', uid: 'header-format' });
  const secret = randomSecret();
  await svix.endpoint.create(app.id, { url: receiver.url('/format'), secret });
  const sentAt = Math.floor(Date.now() / 1000);
  const message = await svix.message.create(app.id, { eventType: 'format.check', payload: { ok: true } });

  await waitFor(() => requestsTo('/format').length === 1, 10_000, 'the webhook');
  const [received] = requestsTo('/format');
  assert.ok(received);
  assert.equal(received.method, 'POST');
  assert.equal(received.headers['webhook-id'], message.id);
  assert.match(String(received.headers['webhook-timestamp']), /^\d{10}$/);
  const timestamp = Number(received.headers['webhook-timestamp']);
  assert.ok(timestamp >= sentAt, `timestamp ${timestamp} is before the message was sent (${sentAt})`);
  assert.ok(timestamp <= sentAt + 10, `timestamp ${timestamp} is long after the message was sent (${sentAt})`);
  assert.match(String(received.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.match(String(received.headers['user-agent']), /^Hookline\//);
  assert.deepEqual(verifyDelivery(secret, received), { ok: true });
});

test('rotated secret signs beside the old one', async () => {
  const app = await svix.application.create({ name: 'Rotation', uid: 'rotation' });
  const oldSecret = randomSecret();
  const endpoint = await svix.endpoint.create(app.id, { url: receiver.url('/rotation'), secret: oldSecret });

  await svix.endpoint.rotateSecret(app.id, endpoint.id, {});
  const newSecret = (await svix.endpoint.getSecret(app.id, endpoint.id)).key;
  assert.notEqual(newSecret, oldSecret);
  assert.match(newSecret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);

  const first = await svix.message.create(app.id, { eventType: 'rotation.check', payload: { step: 'after rotation' } });
  await waitFor(() => requestsTo('/rotation').length === 1, 10_000, 'the webhook after rotation');
  const [afterRotation] = requestsTo('/rotation');
  assert.ok(afterRotation);
  assert.equal(afterRotation.headers['webhook-id'], first.id);
  assert.match(String(afterRotation.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(
    [...v1Signatures(afterRotation)].sort(),
    [expectedSignature(newSecret, afterRotation), expectedSignature(oldSecret, afterRotation)].sort(),
  );
  assert.deepEqual(verifyDelivery(newSecret, afterRotation), { step: 'after rotation' });
  assert.deepEqual(verifyDelivery(oldSecret, afterRotation), { step: 'after rotation' });
  assert.equal(verifies(randomSecret(), afterRotation), false);

  // A second rotation with a chosen key and no grace period retires the secret it replaces
  // at once. The first secret keeps signing until its own 24-hour grace period ends.
  const chosenSecret = randomSecret();
  await svix.endpoint.rotateSecret(app.id, endpoint.id, { key: chosenSecret, gracePeriodSeconds: 0 });
  assert.equal((await svix.endpoint.getSecret(app.id, endpoint.id)).key, chosenSecret);

  const second = await svix.message.create(app.id, { eventType: 'rotation.check', payload: { step: 'second rotation' } });
  await waitFor(() => requestsTo('/rotation').length === 2, 10_000, 'the webhook after the second rotation');
  const afterSecond = requestsTo('/rotation')[1];
  assert.ok(afterSecond);
  assert.equal(afterSecond.headers['webhook-id'], second.id);
  assert.deepEqual(
    [...v1Signatures(afterSecond)].sort(),
    [expectedSignature(chosenSecret, afterSecond), expectedSignature(oldSecret, afterSecond)].sort(),
  );
  assert.deepEqual(verifyDelivery(chosenSecret, afterSecond), { step: 'second rotation' });
  assert.equal(verifies(newSecret, afterSecond), false);
});
