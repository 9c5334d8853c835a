import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { InvalidSecretError, generateSecret, parseSecret } from '../../src/signing/secret.js';
import { sign, signatureHeader } from '../../src/signing/signature.js';

const referenceSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const referenceId = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const referenceTimestamp = 1614265330;
const referenceBody = Buffer.from('{"test": 2432232314}');
const referenceSignature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

// JSON bodies whose bytes a re-encoding would change: accents, emoji, U+2028, escapes.
const bodies = [
  '{"test": 2432232314}',
  '{"name":"Zoë Ångström","city":"Montréal"}',
  '{"emoji":"🪤🎉","flag":"🇫🇷"}',
  '{"separator":"line\u2028break\u2029paragraph"}',
  '{"escaped":"\\u00e9 \\n \\"quoted\\""}',
  '{"nested":{"list":[1,2.5,-3e10,null,true]},"spaces":  "kept" }',
  '{}',
];

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

test('sign matches the Standard Webhooks vector', () => {
  assert.equal(sign(referenceSecret, referenceId, referenceTimestamp, referenceBody), referenceSignature);
});

test('sign accepts pre-decoded key bytes', () => {
  const key = parseSecret(referenceSecret);
  assert.equal(sign(key, referenceId, referenceTimestamp, referenceBody), referenceSignature);
});

test('sign signs the exact body bytes', () => {
  const composed = Buffer.from('{"name":"é"}', 'utf8');
  const decomposed = Buffer.from('{"name":"e\u0301"}', 'utf8');
  assert.notEqual(
    sign(referenceSecret, referenceId, referenceTimestamp, composed),
    sign(referenceSecret, referenceId, referenceTimestamp, decomposed),
  );
});

test('sign verifies with standardwebhooks', () => {
  const secret = generateSecret();
  const verifier = new StandardWebhook(secret);
  for (const text of bodies) {
    const body = Buffer.from(text, 'utf8');
    const timestamp = nowSeconds();
    const headers = {
      'webhook-id': 'msg_2mQ6QzS1nPFzFvBgbbSEvbAzR8Y',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': sign(secret, 'msg_2mQ6QzS1nPFzFvBgbbSEvbAzR8Y', timestamp, body),
    };
    assert.deepEqual(verifier.verify(body, headers), JSON.parse(text), text);
  }
});

test('sign verifies with svix', () => {
  const secret = generateSecret();
  const verifier = new SvixWebhook(secret);
  for (const text of bodies) {
    const body = Buffer.from(text, 'utf8');
    const timestamp = nowSeconds();
    const headers = {
      'svix-id': 'msg_2mQ6QzS1nPFzFvBgbbSEvbAzR8Y',
      'svix-timestamp': String(timestamp),
      'svix-signature': sign(secret, 'msg_2mQ6QzS1nPFzFvBgbbSEvbAzR8Y', timestamp, body),
    };
    assert.deepEqual(verifier.verify(body, headers), JSON.parse(text), text);
  }
});

test('sign fails verification after one byte changes', () => {
  const secret = generateSecret();
  const body = Buffer.from(bodies[2] ?? '', 'utf8');
  const timestamp = nowSeconds();
  const signature = sign(secret, 'msg_1', timestamp, body);
  const tampered = Buffer.from(body);
  const index = tampered.length - 3;
  tampered[index] = (tampered[index] ?? 0) ^ 1;
  const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
  assert.throws(() => new StandardWebhook(secret).verify(tampered, headers), /No matching signature/);
});

test('sign rejects invalid timestamps and secrets', () => {
  for (const timestamp of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => sign(referenceSecret, referenceId, timestamp, referenceBody), RangeError, String(timestamp));
  }
  assert.throws(() => sign('whsec_short', referenceId, referenceTimestamp, referenceBody), InvalidSecretError);
});

test('signatureHeader lists one signature per secret', () => {
  const current = generateSecret();
  const previous = generateSecret();
  const header = signatureHeader([current, previous], referenceId, referenceTimestamp, referenceBody);
  assert.deepEqual(header.split(' '), [
    sign(current, referenceId, referenceTimestamp, referenceBody),
    sign(previous, referenceId, referenceTimestamp, referenceBody),
  ]);
});

test('signatureHeader verifies with either secret', () => {
  const current = generateSecret();
  const previous = generateSecret();
  const body = Buffer.from(bodies[1] ?? '', 'utf8');
  const timestamp = nowSeconds();
  const headers = {
    'webhook-id': referenceId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader([current, previous], referenceId, timestamp, body),
  };
  for (const secret of [current, previous]) {
    assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(bodies[1] ?? ''));
  }
  assert.throws(() => new StandardWebhook(generateSecret()).verify(body, headers), /No matching signature/);
});

test('signatureHeader rejects an empty list', () => {
  assert.throws(() => signatureHeader([], referenceId, referenceTimestamp, referenceBody), RangeError);
});
