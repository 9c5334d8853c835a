import { timingSafeEqual } from 'node:crypto';
import { isAsymmetricKey, resolvePublicKey, verifyAsymmetric } from './asymmetric.js';
import { parseSecret } from './secret.js';
import { computeSignatureDigest, type SigningKey } from './signature.js';

/** Default allowed difference between a webhook's timestamp and the verifier's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** Headers of a received webhook, as node:http and most frameworks expose them. */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Reason a webhook failed verification. */
export type VerifyFailure =
  | 'missing_header'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'signature_mismatch';

/** Outcome of verify: the verified id and timestamp, or the failure and a message naming it. */
export type VerifyResult =
  | { ok: true; msgId: string; timestampSeconds: number }
  | { ok: false; failure: VerifyFailure; message: string };

export interface VerifyOptions {
  /** Allowed difference in seconds between `webhook-timestamp` and now, in either direction. Default 300. */
  toleranceSeconds?: number;
  /** Current Unix time in seconds. Defaults to the system clock. */
  nowSeconds?: number;
}

const SHA256_BYTES = 32;

function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }

  // Several header lines of the same name are read as one space-separated list.
  const text = typeof value === 'string' ? value : value?.join(' ');
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

function failure(kind: VerifyFailure, message: string): VerifyResult {
  return { ok: false, failure: kind, message };
}

const ED25519_SIGNATURE_BYTES = 64;

/** Decodes the signatures of one version (`v1` or `v1a`) that have the expected length. */
function decodeSignatures(header: string, version: 'v1' | 'v1a', length: number): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== version) {
      continue;
    }
    const bytes = Buffer.from(entry.slice(comma + 1), 'base64');
    if (bytes.length === length) {
      signatures.push(bytes);
    }
  }
  return signatures;
}

/**
 * Verifies a received webhook against one or more keys. The three `webhook-*` headers
 * must be present, and the timestamp within the tolerance of now. One signature in
 * `webhook-signature` must match the exact body bytes: a `v1` HMAC signature for a `whsec_`
 * secret (compared in constant time), or a `v1a` ed25519 signature for a `whpk_` public key
 * or a `whsk_` signing key. Returns the failure as a value instead of throwing.
 * Throws InvalidSecretError or InvalidAsymmetricSecretError when a key itself is invalid.
 */
export function verify(
  keys: SigningKey | readonly SigningKey[],
  headers: WebhookHeaders,
  body: Buffer,
  options: VerifyOptions = {},
): VerifyResult {
  const msgId = readHeader(headers, 'webhook-id');
  const timestampText = readHeader(headers, 'webhook-timestamp');
  const signatureText = readHeader(headers, 'webhook-signature');
  const missing = [
    msgId === undefined ? 'webhook-id' : undefined,
    timestampText === undefined ? 'webhook-timestamp' : undefined,
    signatureText === undefined ? 'webhook-signature' : undefined,
  ].filter((name) => name !== undefined);
  if (msgId === undefined || timestampText === undefined || signatureText === undefined) {
    return failure('missing_header', `Missing header ${missing.join(', ')}.`);
  }

  if (!/^\d{1,15}$/.test(timestampText)) {
    return failure('invalid_timestamp', `Invalid webhook-timestamp "${timestampText}": expected Unix seconds.`);
  }
  const timestampSeconds = Number(timestampText);
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (nowSeconds - timestampSeconds > tolerance) {
    return failure(
      'timestamp_too_old',
      `webhook-timestamp ${timestampSeconds} is ${nowSeconds - timestampSeconds} s old, more than the tolerance of ${tolerance} s.`,
    );
  }
  if (timestampSeconds - nowSeconds > tolerance) {
    return failure(
      'timestamp_too_new',
      `webhook-timestamp ${timestampSeconds} is ${timestampSeconds - nowSeconds} s in the future, more than the tolerance of ${tolerance} s.`,
    );
  }

  const keyList: readonly SigningKey[] = Array.isArray(keys) ? keys : [keys as SigningKey];
  const hmacSignatures = decodeSignatures(signatureText, 'v1', SHA256_BYTES);
  const ed25519Signatures = decodeSignatures(signatureText, 'v1a', ED25519_SIGNATURE_BYTES);
  const asymmetric = keyList.filter((key): key is string => typeof key === 'string' && isAsymmetricKey(key));
  const symmetric = keyList.filter((key) => typeof key !== 'string' || !isAsymmetricKey(key));
  if ((symmetric.length === 0 || hmacSignatures.length === 0) && (asymmetric.length === 0 || ed25519Signatures.length === 0)) {
    const expectedVersion = asymmetric.length > 0 && symmetric.length === 0 ? 'v1a' : 'v1';
    return failure('signature_mismatch', `webhook-signature contains no ${expectedVersion} signature.`);
  }

  for (const key of symmetric) {
    const expected = computeSignatureDigest(key, msgId, timestampSeconds, body);
    if (hmacSignatures.some((signature) => timingSafeEqual(signature, expected))) {
      return { ok: true, msgId, timestampSeconds };
    }
  }
  for (const key of asymmetric) {
    if (ed25519Signatures.some((signature) => verifyAsymmetric(key, msgId, timestampSeconds, body, signature))) {
      return { ok: true, msgId, timestampSeconds };
    }
  }
  return failure('signature_mismatch', 'No signature in webhook-signature matches the body and key.');
}

/**
 * Checks a key that verifies webhooks: a `whsec_` secret, a `whpk_` public key or a
 * `whsk_` signing key. Returns why the key is invalid, or undefined when it is valid.
 */
export function validateVerificationKey(key: string): string | undefined {
  try {
    if (isAsymmetricKey(key)) {
      resolvePublicKey(key);
    } else {
      parseSecret(key);
    }
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
