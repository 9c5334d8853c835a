import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Webhook as SvixWebhook } from 'svix';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startReceiver, type ReceivedRequest, type Receiver, type ReceiverHandler } from '../delivery/receiver.js';

/** Returns the three Standard Webhooks headers of a received request as plain strings. */
export function webhookHeaders(request: ReceivedRequest): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': String(request.headers['webhook-id'] ?? ''),
    'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
    'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
  };
}

/** Returns the `v1,` entries of the `webhook-signature` header without their prefix. */
export function v1Signatures(request: ReceivedRequest): string[] {
  const header = webhookHeaders(request)['webhook-signature'];
  return header
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3));
}

/**
 * Computes the base64 HMAC-SHA256 that a `v1` signature of this request must carry, over
 * the exact body bytes received, with node:crypto instead of a webhook library.
 */
export function expectedSignature(secret: string, request: ReceivedRequest): string {
  const headers = webhookHeaders(request);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return createHmac('sha256', key)
    .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.`)
    .update(request.body)
    .digest('base64');
}

/**
 * Verifies a delivery with both the `svix` and the `standardwebhooks` verifier, over the
 * raw body bytes and over the body decoded as UTF-8, and returns the parsed payload.
 * Fails the test when either library rejects the signature or when they disagree.
 */
export function verifyDelivery(secret: string, request: ReceivedRequest): unknown {
  const headers = webhookHeaders(request);
  const text = request.body.toString('utf8');

  const bySvix = new SvixWebhook(secret).verify(text, headers);
  const byStandard = new StandardWebhook(secret).verify(text, headers);
  const byStandardFromBytes = new StandardWebhook(secret).verify(request.body, headers);
  assert.deepEqual(byStandard, bySvix);
  assert.deepEqual(byStandardFromBytes, bySvix);
  assert.ok(v1Signatures(request).includes(expectedSignature(secret, request)), 'no v1 signature covers the raw body bytes');
  return bySvix;
}

/** Tells whether a secret verifies a delivery, and fails the test when the two libraries disagree. */
export function verifies(secret: string, request: ReceivedRequest): boolean {
  const headers = webhookHeaders(request);
  const text = request.body.toString('utf8');
  const attempt = (verify: () => unknown): boolean => {
    try {
      verify();
      return true;
    } catch {
      return false;
    }
  };
  const bySvix = attempt(() => new SvixWebhook(secret).verify(text, headers));
  const byStandard = attempt(() => new StandardWebhook(secret).verify(request.body, headers));
  assert.equal(byStandard, bySvix, 'svix and standardwebhooks disagree about a signature');
  return bySvix;
}

/** A receiver that also records when each request arrived, in milliseconds since the epoch. */
export interface TimedReceiver extends Receiver {
  /** Arrival time of `requests[i]`, taken when its body had been read. */
  arrivals: number[];
  url(path?: string): string;
}

/** Starts a loopback receiver that records arrival times beside the requests. */
export async function startTimedReceiver(handler: ReceiverHandler): Promise<TimedReceiver> {
  const arrivals: number[] = [];
  const receiver = await startReceiver((request, response, body) => {
    arrivals.push(Date.now());
    handler(request, response, body);
  });
  return Object.assign(receiver, {
    arrivals,
    url: (path = '/hook') => `http://127.0.0.1:${receiver.port}${path}`,
  });
}
