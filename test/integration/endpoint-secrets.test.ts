import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, verify as verifyBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { answer, startReceiver, type ReceivedRequest, type Receiver } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';

// Every signature here is checked by code that shares nothing with Hookline's signer: the
// standardwebhooks and svix libraries for v1, and node:crypto for v1 and v1a.

const day = 24 * 60 * 60 * 1000;
let clockOffset = 0;
let hookline: TestHookline;
let receiver: Receiver;

before(async () => {
  receiver = await startReceiver(answer(204));
  hookline = await startTestHookline({}, { api: true, worker: true }, 'embedded', { clock: () => Date.now() + clockOffset });
  const app = await hookline.request('POST', '/api/v1/app', { name: 'Secrets', uid: 'secrets' });
  assert.equal(app.status, 201);
});

after(async () => {
  await hookline.destroy();
  await receiver.close();
});

function hookUrl(path: string): string {
  return `http://127.0.0.1:${receiver.port}/${path}`;
}

async function createEndpoint(path: string, fields: Record<string, unknown>): Promise<string> {
  const response = await hookline.request('POST', '/api/v1/app/secrets/endpoint', { url: hookUrl(path), ...fields });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.id as string;
}

/** Sends one message and returns the request that reached `path`. */
async function deliver(path: string): Promise<ReceivedRequest> {
  const sent = await hookline.request('POST', '/api/v1/app/secrets/msg', { eventType: 'secret.test', payload: { path, nonce: randomBytes(4).toString('hex') } });
  assert.equal(sent.status, 202);
  const msgId = sent.body.id as string;
  let found: ReceivedRequest | undefined;
  await waitFor(() => {
    found = receiver.requests.find((request) => request.url === `/${path}` && request.headers['webhook-id'] === msgId);
    return found !== undefined;
  }, 10_000, `the message at /${path}`);
  return found as ReceivedRequest;
}

function signatures(request: ReceivedRequest): string[] {
  return String(request.headers['webhook-signature']).split(' ');
}

function webhookHeaders(request: ReceivedRequest): Record<string, string> {
  return {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
}

function signedContent(request: ReceivedRequest): Buffer {
  return Buffer.concat([Buffer.from(`${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.`), request.body]);
}

/** Computes with node:crypto the v1 signature that a whsec_ secret gives this request. */
function hmacSignature(secret: string, request: ReceivedRequest): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(signedContent(request)).digest('base64')}`;
}

const spkiEd25519Header = Buffer.from('302a300506032b6570032100', 'hex');

/** Tells whether one of the request's v1a signatures verifies with the whpk_ key, using node:crypto. */
function ed25519Verifies(whpk: string, request: ReceivedRequest): boolean {
  const raw = Buffer.from(whpk.slice('whpk_'.length), 'base64');
  assert.equal(raw.length, 32);
  const publicKey = createPublicKey({ key: Buffer.concat([spkiEd25519Header, raw]), format: 'der', type: 'spki' });
  return signatures(request)
    .filter((entry) => entry.startsWith('v1a,'))
    .some((entry) => verifyBytes(null, signedContent(request), publicKey, Buffer.from(entry.slice(4), 'base64')));
}

async function readKey(endpointId: string): Promise<string> {
  const response = await hookline.request('GET', `/api/v1/app/secrets/endpoint/${endpointId}/secret`);
  assert.equal(response.status, 200);
  return response.body.key as string;
}

function newHmacSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

test('rotation signs with both secrets for 24 hours', async () => {
  clockOffset = 0;
  const oldSecret = newHmacSecret();
  const newSecret = newHmacSecret();
  const endpointId = await createEndpoint('rotation', { secret: oldSecret });

  const before = await deliver('rotation');
  assert.equal(signatures(before).length, 1);
  assert.deepEqual(new StandardWebhook(oldSecret).verify(before.body, webhookHeaders(before)), JSON.parse(before.body.toString()));

  const rotated = await hookline.request('POST', `/api/v1/app/secrets/endpoint/${endpointId}/secret/rotate`, { key: newSecret });
  assert.equal(rotated.status, 204);
  assert.equal(await readKey(endpointId), newSecret);

  const during = await deliver('rotation');
  assert.equal(signatures(during).length, 2);
  const payload = JSON.parse(during.body.toString());
  for (const secret of [oldSecret, newSecret]) {
    assert.deepEqual(new StandardWebhook(secret).verify(during.body, webhookHeaders(during)), payload);
    assert.deepEqual(new SvixWebhook(secret).verify(during.body.toString(), webhookHeaders(during)), payload);
  }
  assert.throws(() => new StandardWebhook(newHmacSecret()).verify(during.body, webhookHeaders(during)), /No matching signature/);

  // Shortly before the grace period ends both secrets still sign. The clock runs ahead of
  // the verifiers' own clocks now, so the signatures are computed with node:crypto.
  clockOffset = day - 60_000;
  const late = await deliver('rotation');
  assert.deepEqual(signatures(late).sort(), [hmacSignature(oldSecret, late), hmacSignature(newSecret, late)].sort());

  clockOffset = day + 60_000;
  const after = await deliver('rotation');
  assert.deepEqual(signatures(after), [hmacSignature(newSecret, after)]);
  clockOffset = 0;
});

test('ed25519 endpoint signs v1a for its whpk_ key', async () => {
  const endpointId = await createEndpoint('ed25519', { signatureScheme: 'ed25519' });
  const publicKey = await readKey(endpointId);
  assert.match(publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);

  const request = await deliver('ed25519');
  const [signature, ...rest] = signatures(request);
  assert.deepEqual(rest, []);
  assert.match(signature ?? '', /^v1a,[A-Za-z0-9+/]{86}==$/);
  assert.ok(ed25519Verifies(publicKey, request));
  assert.ok(!ed25519Verifies(`whpk_${randomBytes(32).toString('base64')}`, request));
});

test('supplied whsk_ key signs for its public key', async () => {
  const pair = generateKeyPairSync('ed25519');
  const seed = Buffer.from(pair.privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const expected = `whpk_${Buffer.from(pair.publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64')}`;
  const endpointId = await createEndpoint('supplied', { secret: `whsk_${seed.toString('base64')}` });

  assert.equal(await readKey(endpointId), expected);
  assert.ok(ed25519Verifies(expected, await deliver('supplied')));
});

test('ed25519 rotation keeps the scheme and both keys sign', async () => {
  clockOffset = 0;
  const endpointId = await createEndpoint('ed-rotation', { signatureScheme: 'ed25519' });
  const oldKey = await readKey(endpointId);

  const rotated = await hookline.request('POST', `/api/v1/app/secrets/endpoint/${endpointId}/secret/rotate`, {});
  assert.equal(rotated.status, 204);
  const newKey = await readKey(endpointId);
  assert.match(newKey, /^whpk_/);
  assert.notEqual(newKey, oldKey);

  const request = await deliver('ed-rotation');
  assert.equal(signatures(request).length, 2);
  assert.ok(signatures(request).every((entry) => entry.startsWith('v1a,')));
  assert.ok(ed25519Verifies(oldKey, request));
  assert.ok(ed25519Verifies(newKey, request));
});

test('rotation from ed25519 to hmac sends both kinds', async () => {
  const endpointId = await createEndpoint('to-hmac', { signatureScheme: 'ed25519' });
  const oldKey = await readKey(endpointId);

  const rotated = await hookline.request('POST', `/api/v1/app/secrets/endpoint/${endpointId}/secret/rotate`, { signatureScheme: 'hmac-sha256' });
  assert.equal(rotated.status, 204);
  const newSecret = await readKey(endpointId);
  assert.match(newSecret, /^whsec_/);

  const request = await deliver('to-hmac');
  assert.deepEqual(signatures(request).map((entry) => entry.split(',')[0]).sort(), ['v1', 'v1a']);
  assert.ok(ed25519Verifies(oldKey, request));
  assert.deepEqual(new StandardWebhook(newSecret).verify(request.body, webhookHeaders(request)), JSON.parse(request.body.toString()));
});

test('bad ed25519 requests get 422 naming the field', async () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['/api/v1/app/secrets/endpoint', { url: hookUrl('bad'), secret: newHmacSecret(), signatureScheme: 'ed25519' }, 'signatureScheme'],
    ['/api/v1/app/secrets/endpoint', { url: hookUrl('bad'), secret: `whsk_${randomBytes(31).toString('base64')}` }, 'secret'],
    ['/api/v1/app/secrets/endpoint', { url: hookUrl('bad'), signatureScheme: 'rsa' }, 'signatureScheme'],
  ];
  for (const [path, body, field] of cases) {
    const response = await hookline.request('POST', path, body);
    assert.equal(response.status, 422, JSON.stringify(body));
    assert.deepEqual(response.body.detail[0].loc, ['body', field], JSON.stringify(response.body));
  }

  const endpointId = await createEndpoint('bad-rotate', {});
  const mismatch = await hookline.request('POST', `/api/v1/app/secrets/endpoint/${endpointId}/secret/rotate`, {
    key: `whsk_${randomBytes(32).toString('base64')}`,
    signatureScheme: 'hmac-sha256',
  });
  assert.equal(mismatch.status, 422);
  assert.deepEqual(mismatch.body.detail[0].loc, ['body', 'signatureScheme']);
});
