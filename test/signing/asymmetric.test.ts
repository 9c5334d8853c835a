import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify as verifyBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import {
  generateAsymmetricSecret,
  InvalidAsymmetricSecretError,
  isAsymmetricSecret,
  publicKeyOf,
  signAsymmetric,
  validateAsymmetricSecret,
} from '../../src/signing/asymmetric.js';
import { generateSecret } from '../../src/signing/secret.js';
import { sign, signatureHeader } from '../../src/signing/signature.js';

// These checks verify with node:crypto from the whpk_ text alone: the raw 32-byte public
// key is wrapped in the SubjectPublicKeyInfo header of RFC 8410 here, not by the signer.
const spkiEd25519Header = Buffer.from('302a300506032b6570032100', 'hex');

function publicKeyFromText(whpk: string) {
  assert.match(whpk, /^whpk_[A-Za-z0-9+/]{43}=$/);
  const raw = Buffer.from(whpk.slice('whpk_'.length), 'base64');
  assert.equal(raw.length, 32);
  return createPublicKey({ key: Buffer.concat([spkiEd25519Header, raw]), format: 'der', type: 'spki' });
}

function verifiesWith(whpk: string, signature: string, content: Buffer): boolean {
  assert.match(signature, /^v1a,/);
  return verifyBytes(null, content, publicKeyFromText(whpk), Buffer.from(signature.slice('v1a,'.length), 'base64'));
}

/** Generates a key pair with node:crypto, as the receiver's side would. */
function externalKeyPair(): { seed: Buffer; publicKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return { seed, publicKey: raw };
}

const msgId = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
const timestamp = 1_674_087_231;
const body = Buffer.from('{"type":"trap.set","data":{"id":1}}');
const signedContent = Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`), body]);

test('generated key has whsk_ and a 32-byte seed', () => {
  const secret = generateAsymmetricSecret();

  assert.match(secret, /^whsk_[A-Za-z0-9+/]{43}=$/);
  assert.equal(Buffer.from(secret.slice(5), 'base64').length, 32);
  assert.ok(isAsymmetricSecret(secret));
  assert.equal(validateAsymmetricSecret(secret), undefined);
  assert.notEqual(generateAsymmetricSecret(), secret);
});

test('v1a signature verifies with node:crypto', () => {
  const secret = generateAsymmetricSecret();
  const signature = signAsymmetric(secret, msgId, timestamp, body);

  assert.match(signature, /^v1a,[A-Za-z0-9+/]{86}==$/);
  assert.ok(verifiesWith(publicKeyOf(secret), signature, signedContent));
  assert.ok(!verifiesWith(publicKeyOf(secret), signature, Buffer.concat([signedContent, Buffer.from(' ')])));
  assert.ok(!verifiesWith(publicKeyOf(generateAsymmetricSecret()), signature, signedContent));
});

test('seed from node:crypto signs for its public key', () => {
  const { seed, publicKey } = externalKeyPair();
  const secret = `whsk_${seed.toString('base64')}`;

  assert.equal(publicKeyOf(secret), `whpk_${publicKey.toString('base64')}`);
  assert.ok(verifiesWith(`whpk_${publicKey.toString('base64')}`, sign(secret, msgId, timestamp, body), signedContent));
});

test('64-byte seed and public key accepted', () => {
  const { seed, publicKey } = externalKeyPair();
  const secret = `whsk_${Buffer.concat([seed, publicKey]).toString('base64')}`;

  assert.equal(validateAsymmetricSecret(secret), undefined);
  assert.equal(publicKeyOf(secret), `whpk_${publicKey.toString('base64')}`);
  assert.ok(verifiesWith(publicKeyOf(secret), signAsymmetric(secret, msgId, timestamp, body), signedContent));
});

test('invalid whsk_ keys rejected', () => {
  const { seed } = externalKeyPair();
  const other = externalKeyPair();
  const cases: [string, RegExp][] = [
    ['whsk_', /outside standard base64/],
    [`whsk_${seed.subarray(0, 31).toString('base64')}`, /encodes 31 bytes, expected 32/],
    [`whsk_${seed.toString('base64url')}x`, /outside standard base64|encodes 33 bytes/],
    // 42 characters of 0xff bytes leave four set bits over, which no 31-byte key encodes to.
    [`whsk_${Buffer.alloc(32, 0xff).toString('base64').slice(0, -2)}`, /not valid base64/],
    [`whsk_${Buffer.concat([seed, other.publicKey]).toString('base64')}`, /not the public key of its first 32 bytes/],
    [`whsec_${seed.toString('base64')}`, /does not start with whsk_/],
  ];
  for (const [secret, reason] of cases) {
    assert.match(validateAsymmetricSecret(secret) ?? 'valid', reason, secret);
  }
  assert.throws(() => signAsymmetric('whsk_AAAA', msgId, timestamp, body), InvalidAsymmetricSecretError);
});

test('header mixes v1 and v1a signatures', () => {
  const hmacSecret = generateSecret();
  const edSecret = generateAsymmetricSecret();
  const header = signatureHeader([edSecret, hmacSecret], msgId, timestamp, body);
  const [first, second, ...rest] = header.split(' ');

  assert.deepEqual(rest, []);
  assert.ok(verifiesWith(publicKeyOf(edSecret), first ?? '', signedContent));
  assert.match(second ?? '', /^v1,/);
  // standardwebhooks skips the v1a entry and verifies the v1 one.
  const now = Math.floor(Date.now() / 1000);
  const fresh = signatureHeader([edSecret, hmacSecret], msgId, now, body);
  const headers = { 'webhook-id': msgId, 'webhook-timestamp': String(now), 'webhook-signature': fresh };
  assert.deepEqual(new StandardWebhook(hmacSecret).verify(body, headers), JSON.parse(body.toString('utf8')));
});

test('v1a signature rejects bad timestamp', () => {
  assert.throws(() => sign(generateAsymmetricSecret(), msgId, -1, body), RangeError);
});
