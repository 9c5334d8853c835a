import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { generateSecret, parseSecret } from '../../src/signing/secret.js';
import { sign, signatureHeader } from '../../src/signing/signature.js';
import { validateVerificationKey, verify } from '../../src/signing/verify.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const msgId = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = Buffer.from('{"test": 2432232314}');
const validHeaders = {
  'webhook-id': msgId,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

test('verify accepts the reference vector', () => {
  const result = verify(secret, validHeaders, body, { nowSeconds: timestamp });
  assert.deepEqual(result, { ok: true, msgId, timestampSeconds: timestamp });
});

test('verify accepts pre-decoded key bytes', () => {
  const result = verify(parseSecret(secret), validHeaders, body, { nowSeconds: timestamp });
  assert.equal(result.ok, true);
});

test('verify names each missing header', () => {
  for (const name of Object.keys(validHeaders)) {
    const headers: Record<string, string> = { ...validHeaders };
    delete headers[name];
    const result = verify(secret, headers, body, { nowSeconds: timestamp });
    assert.equal(result.ok, false, name);
    assert.equal(!result.ok && result.failure, 'missing_header', name);
    assert.match(!result.ok ? result.message : '', new RegExp(`Missing header ${name}`), name);
  }
});

test('verify treats an empty header as missing', () => {
  const result = verify(secret, { ...validHeaders, 'webhook-signature': '  ' }, body, { nowSeconds: timestamp });
  assert.equal(!result.ok && result.failure, 'missing_header');
});

test('verify reads headers in any case', () => {
  const headers = {
    'Webhook-Id': validHeaders['webhook-id'],
    'WEBHOOK-TIMESTAMP': validHeaders['webhook-timestamp'],
    'webhook-Signature': validHeaders['webhook-signature'],
  };
  assert.equal(verify(secret, headers, body, { nowSeconds: timestamp }).ok, true);
});

test('verify reads repeated signature headers', () => {
  const headers = {
    ...validHeaders,
    'webhook-signature': ['v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', validHeaders['webhook-signature']],
  };
  assert.equal(verify(secret, headers, body, { nowSeconds: timestamp }).ok, true);
});

test('verify rejects an invalid timestamp', () => {
  for (const value of ['abc', '-5', '1614265330.5', '1e9']) {
    const result = verify(secret, { ...validHeaders, 'webhook-timestamp': value }, body, { nowSeconds: timestamp });
    assert.equal(!result.ok && result.failure, 'invalid_timestamp', value);
  }
});

test('verify rejects an old timestamp', () => {
  const result = verify(secret, validHeaders, body, { nowSeconds: timestamp + 301 });
  assert.equal(!result.ok && result.failure, 'timestamp_too_old');
  assert.match(!result.ok ? result.message : '', /301 s old/);
});

test('verify rejects a future timestamp', () => {
  const result = verify(secret, validHeaders, body, { nowSeconds: timestamp - 301 });
  assert.equal(!result.ok && result.failure, 'timestamp_too_new');
});

test('verify accepts the tolerance edges', () => {
  assert.equal(verify(secret, validHeaders, body, { nowSeconds: timestamp + 300 }).ok, true);
  assert.equal(verify(secret, validHeaders, body, { nowSeconds: timestamp - 300 }).ok, true);
});

test('verify honours a custom tolerance', () => {
  const options = { nowSeconds: timestamp + 30, toleranceSeconds: 10 };
  const result = verify(secret, validHeaders, body, options);
  assert.equal(!result.ok && result.failure, 'timestamp_too_old');
});

test('verify reports a signature mismatch', () => {
  const cases: Array<[string, Buffer, Record<string, string>]> = [
    ['other secret', body, validHeaders],
    ['changed body', Buffer.from('{"test": 2432232315}'), validHeaders],
    ['changed id', body, { ...validHeaders, 'webhook-id': 'msg_other' }],
    ['no v1 entry', body, { ...validHeaders, 'webhook-signature': 'v1a,abc v2,def' }],
    ['garbled base64', body, { ...validHeaders, 'webhook-signature': 'v1,not-base64!' }],
  ];
  for (const [name, payload, headers] of cases) {
    const key = name === 'other secret' ? generateSecret() : secret;
    const result = verify(key, headers, payload, { nowSeconds: timestamp });
    assert.equal(!result.ok && result.failure, 'signature_mismatch', name);
  }
});

test('verify tries every secret', () => {
  const previous = generateSecret();
  const current = generateSecret();
  const headers = {
    ...validHeaders,
    'webhook-signature': sign(previous, msgId, timestamp, body),
  };
  assert.equal(verify([current, previous], headers, body, { nowSeconds: timestamp }).ok, true);
  assert.equal(verify([current], headers, body, { nowSeconds: timestamp }).ok, false);
});

test('verify agrees with standardwebhooks', () => {
  const key = generateSecret();
  const payload = Buffer.from('{"message":"Привет, 世界 🪤\u2028"}', 'utf8');
  const now = Math.floor(Date.now() / 1000);
  const headers = {
    'webhook-id': msgId,
    'webhook-timestamp': String(now),
    'webhook-signature': signatureHeader([generateSecret(), key], msgId, now, payload),
  };
  assert.equal(verify(key, headers, payload).ok, true);
  assert.deepEqual(new StandardWebhook(key).verify(payload, headers), JSON.parse(payload.toString('utf8')));
});

test('verify checks v1a signatures with a whpk_ or whsk_ key', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const whsk = `whsk_${seed.toString('base64')}`;
  const whpk = `whpk_${Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64')}`;
  const msgId = 'msg_ed25519';
  const seconds = 1_700_000_000;
  const body = Buffer.from('{"a":1}');
  const signature = signBytes(null, Buffer.concat([Buffer.from(`${msgId}.${seconds}.`), body]), privateKey).toString('base64');
  const headers = { 'webhook-id': msgId, 'webhook-timestamp': String(seconds), 'webhook-signature': `v1,bm90LWEtcmVhbC1zaWduYXR1cmUtYnl0ZXMtaGVyZQ== v1a,${signature}` };

  assert.ok(verify(whpk, headers, body, { nowSeconds: seconds }).ok);
  assert.ok(verify(whsk, headers, body, { nowSeconds: seconds }).ok);
  const changed = verify(whpk, headers, Buffer.from('{"a":2}'), { nowSeconds: seconds });
  assert.equal(changed.ok, false);
  assert.equal(!changed.ok && changed.failure, 'signature_mismatch');
  const hmacOnly = verify(whpk, { ...headers, 'webhook-signature': 'v1,bm90LWEtcmVhbC1zaWduYXR1cmUtYnl0ZXMtaGVyZQ==' }, body, { nowSeconds: seconds });
  assert.equal(!hmacOnly.ok && hmacOnly.message, 'webhook-signature contains no v1a signature.');
  assert.equal(validateVerificationKey(whpk), undefined);
  assert.match(validateVerificationKey('whpk_AAAA') ?? '', /Invalid ed25519 public key/);
  assert.match(validateVerificationKey('whsec_short') ?? '', /Invalid signing secret/);
});
