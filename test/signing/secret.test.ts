import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  InvalidSecretError,
  SECRET_PREFIX,
  formatSecret,
  generateSecret,
  parseSecret,
  validateSecret,
} from '../../src/signing/secret.js';

const referenceSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

test('generateSecret makes whsec_ and 24 bytes', () => {
  const secret = generateSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
  assert.equal(parseSecret(secret).length, 24);
});

test('generateSecret differs every call', () => {
  const secrets = new Set(Array.from({ length: 100 }, () => generateSecret()));
  assert.equal(secrets.size, 100);
});

test('parseSecret accepts with and without prefix', () => {
  const withPrefix = parseSecret(referenceSecret);
  const withoutPrefix = parseSecret(referenceSecret.slice(SECRET_PREFIX.length));
  assert.equal(withPrefix.length, 24);
  assert.deepEqual(withPrefix, withoutPrefix);
  assert.equal(formatSecret(withPrefix), referenceSecret);
});

test('parseSecret accepts 24 to 64 bytes', () => {
  for (const size of [24, 25, 32, 63, 64]) {
    const key = Buffer.alloc(size, 7);
    assert.deepEqual(parseSecret(formatSecret(key)), key, `${size} bytes`);
  }
});

test('parseSecret accepts missing base64 padding', () => {
  const key = Buffer.alloc(25, 9);
  const unpadded = formatSecret(key).replace(/=+$/, '');
  assert.notEqual(unpadded, formatSecret(key));
  assert.deepEqual(parseSecret(unpadded), key);
});

test('parseSecret rejects invalid secrets', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['whsec_', /empty/],
    [formatSecret(Buffer.alloc(23)), /23 bytes, expected 24 to 64/],
    [formatSecret(Buffer.alloc(65)), /65 bytes, expected 24 to 64/],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!', /outside standard base64/],
    ['whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw', /outside standard base64/],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_', /outside standard base64/],
    ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA', /length or last character/],
    // 25 bytes whose last character carries bits that no encoder would set.
    ['whsec_CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCR==', /length or last character/],
  ];
  for (const [secret, message] of cases) {
    assert.throws(() => parseSecret(secret), InvalidSecretError, secret);
    assert.throws(() => parseSecret(secret), message, secret);
  }
});

test('validateSecret returns the problem', () => {
  assert.equal(validateSecret(referenceSecret), undefined);
  assert.equal(validateSecret(generateSecret()), undefined);
  assert.match(validateSecret('whsec_c2hvcnQ=') ?? '', /5 bytes, expected 24 to 64/);
  assert.match(validateSecret('whsec_***') ?? '', /outside standard base64/);
});
