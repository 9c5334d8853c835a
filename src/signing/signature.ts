import { createHmac } from 'node:crypto';
import { isAsymmetricSecret, signAsymmetric } from './asymmetric.js';
import { parseSecret } from './secret.js';

/** A signing secret as text (`whsec_…` or an ed25519 `whsk_…` key) or HMAC key bytes from parseSecret. */
export type SigningKey = string | Buffer;

// Decoded keys of recently used secret strings, so that a worker signing for the same
// endpoints again and again decodes each secret once. Oldest entries go first when full.
const MAX_CACHED_KEYS = 1024;
const keyCache = new Map<string, Buffer>();

function resolveKey(key: SigningKey): Buffer {
  if (typeof key !== 'string') {
    return key;
  }

  const cached = keyCache.get(key);
  if (cached !== undefined) {
    return cached;
  }

  const decoded = parseSecret(key);
  if (keyCache.size >= MAX_CACHED_KEYS) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) {
      keyCache.delete(oldest.value);
    }
  }
  keyCache.set(key, decoded);
  return decoded;
}

function checkTimestamp(timestampSeconds: number): void {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`Invalid webhook timestamp ${timestampSeconds}: expected whole Unix seconds.`);
  }
}

/**
 * Signs one webhook as Standard Webhooks defines it, over `{msgId}.{timestampSeconds}.`
 * followed by the exact body bytes: `v1,` and the base64 HMAC-SHA256 for a `whsec_`
 * secret, or `v1a,` and the base64 ed25519 signature for a `whsk_` key.
 * Throws InvalidSecretError or InvalidAsymmetricSecretError for an invalid secret and
 * RangeError for a timestamp that is not whole non-negative seconds.
 */
export function sign(key: SigningKey, msgId: string, timestampSeconds: number, body: Buffer): string {
  if (typeof key === 'string' && isAsymmetricSecret(key)) {
    checkTimestamp(timestampSeconds);
    return signAsymmetric(key, msgId, timestampSeconds, body);
  }
  return `v1,${computeSignatureDigest(key, msgId, timestampSeconds, body).toString('base64')}`;
}

/** Computes the raw HMAC-SHA256 bytes behind a `v1` signature, which sign encodes in base64. */
export function computeSignatureDigest(
  key: SigningKey,
  msgId: string,
  timestampSeconds: number,
  body: Buffer,
): Buffer {
  checkTimestamp(timestampSeconds);

  return createHmac('sha256', resolveKey(key))
    .update(`${msgId}.${timestampSeconds}.`)
    .update(body)
    .digest();
}

/**
 * Builds the `webhook-signature` header value: one signature per key (`v1,…` or `v1a,…`),
 * separated by spaces. Pass the current secret and every rotated-out secret still in its grace period,
 * so receivers that have not switched yet keep verifying.
 * Throws RangeError when no key is given.
 */
export function signatureHeader(
  keys: readonly SigningKey[],
  msgId: string,
  timestampSeconds: number,
  body: Buffer,
): string {
  if (keys.length === 0) {
    throw new RangeError('Cannot build a webhook-signature header without a signing secret.');
  }
  return keys.map((key) => sign(key, msgId, timestampSeconds, body)).join(' ');
}
