import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto';

/** Prefix of an ed25519 signing key (the private part), as Standard Webhooks serializes it. */
export const ASYMMETRIC_SECRET_PREFIX = 'whsk_';

/** Prefix of an ed25519 verification key (the public part), which receivers verify `v1a` signatures with. */
export const PUBLIC_KEY_PREFIX = 'whpk_';

const SEED_BYTES = 32;
const KEY_PAIR_BYTES = 64;

// DER header of a PKCS #8 ed25519 private key (RFC 8410); the 32-byte seed follows it.
const pkcs8Ed25519Header = Buffer.from('302e020100300506032b657004220420', 'hex');

// DER header of an SPKI ed25519 public key (RFC 8410); the 32-byte key follows it.
const spkiEd25519Header = Buffer.from('302a300506032b6570032100', 'hex');

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** Error for a signing key that is not `whsk_` followed by an ed25519 seed or key pair in base64. */
export class InvalidAsymmetricSecretError extends Error {
  override name = 'InvalidAsymmetricSecretError';
}

/** Tells whether a secret is an ed25519 signing key rather than an HMAC secret. */
export function isAsymmetricSecret(secret: string): boolean {
  return secret.startsWith(ASYMMETRIC_SECRET_PREFIX);
}

/** Generates an ed25519 signing key: `whsk_` and the 32-byte seed in base64. */
export function generateAsymmetricSecret(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return `${ASYMMETRIC_SECRET_PREFIX}${der.subarray(der.length - SEED_BYTES).toString('base64')}`;
}

function publicKeyBytes(privateKey: KeyObject): Buffer {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - SEED_BYTES);
}

/**
 * Decodes a `whsk_` key. Two layouts are accepted: the 32-byte seed, which the Standard
 * Webhooks Go library reads, and the 64-byte seed followed by the public key, which
 * libsodium and the Svix server use. The public half of the second must match the seed.
 */
function decodeAsymmetricSecret(secret: string): KeyObject | string {
  if (!isAsymmetricSecret(secret)) {
    return `the key does not start with ${ASYMMETRIC_SECRET_PREFIX}`;
  }
  const encoded = secret.slice(ASYMMETRIC_SECRET_PREFIX.length);
  if (!base64Pattern.test(encoded)) {
    return 'the key contains characters outside standard base64 (A-Z, a-z, 0-9, +, / and = padding)';
  }

  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    return 'the key is not valid base64: its length or last character is wrong, as happens when it was cut short';
  }
  if (bytes.length !== SEED_BYTES && bytes.length !== KEY_PAIR_BYTES) {
    return `the key encodes ${bytes.length} bytes, expected ${SEED_BYTES} (the seed) or ${KEY_PAIR_BYTES} (the seed and the public key)`;
  }

  const privateKey = createPrivateKey({
    key: Buffer.concat([pkcs8Ed25519Header, bytes.subarray(0, SEED_BYTES)]),
    format: 'der',
    type: 'pkcs8',
  });
  if (bytes.length === KEY_PAIR_BYTES && !publicKeyBytes(privateKey).equals(bytes.subarray(SEED_BYTES))) {
    return 'the last 32 bytes of the key are not the public key of its first 32 bytes';
  }
  return privateKey;
}

/**
 * Checks an ed25519 signing key, for example one that a user supplies through the API.
 * Returns why the key is invalid, or undefined when it is valid.
 */
export function validateAsymmetricSecret(secret: string): string | undefined {
  const decoded = decodeAsymmetricSecret(secret);
  return typeof decoded === 'string' ? decoded : undefined;
}

// Key objects of recently used signing keys, so that a worker signing for the same
// endpoints again and again decodes each key once. Oldest entries go first when full.
const MAX_CACHED_KEYS = 1024;
const keyCache = new Map<string, KeyObject>();

function resolvePrivateKey(secret: string): KeyObject {
  const cached = keyCache.get(secret);
  if (cached !== undefined) {
    return cached;
  }

  const decoded = decodeAsymmetricSecret(secret);
  if (typeof decoded === 'string') {
    throw new InvalidAsymmetricSecretError(
      `Invalid ed25519 signing key: ${decoded}. Expected ${ASYMMETRIC_SECRET_PREFIX} followed by base64 of a ${SEED_BYTES}-byte seed.`,
    );
  }
  if (keyCache.size >= MAX_CACHED_KEYS) {
    const oldest = keyCache.keys().next();
    if (oldest.done !== true) {
      keyCache.delete(oldest.value);
    }
  }
  keyCache.set(secret, decoded);
  return decoded;
}

/**
 * Returns the verification key of a `whsk_` signing key: `whpk_` and the 32-byte ed25519
 * public key in base64. Throws InvalidAsymmetricSecretError for an invalid key.
 */
export function publicKeyOf(secret: string): string {
  return `${PUBLIC_KEY_PREFIX}${publicKeyBytes(resolvePrivateKey(secret)).toString('base64')}`;
}

/**
 * Signs one webhook with an ed25519 key: `v1a,` and the base64 ed25519 signature of
 * `{msgId}.{timestampSeconds}.` followed by the exact body bytes.
 * Throws InvalidAsymmetricSecretError for an invalid key.
 */
export function signAsymmetric(secret: string, msgId: string, timestampSeconds: number, body: Buffer): string {
  const content = Buffer.concat([Buffer.from(`${msgId}.${timestampSeconds}.`), body]);
  return `v1a,${signBytes(null, content, resolvePrivateKey(secret)).toString('base64')}`;
}

/**
 * Returns the key that verifies `v1a` signatures: from a `whpk_` public key, or from the
 * public half of a `whsk_` signing key. Throws InvalidAsymmetricSecretError for a key of
 * neither form.
 */
export function resolvePublicKey(key: string): KeyObject {
  if (isAsymmetricSecret(key)) {
    return createPublicKey(resolvePrivateKey(key));
  }
  if (!key.startsWith(PUBLIC_KEY_PREFIX)) {
    throw new InvalidAsymmetricSecretError(`Invalid ed25519 key: expected ${PUBLIC_KEY_PREFIX} or ${ASYMMETRIC_SECRET_PREFIX} followed by base64.`);
  }
  const encoded = key.slice(PUBLIC_KEY_PREFIX.length);
  const bytes = Buffer.from(encoded, 'base64');
  if (!base64Pattern.test(encoded) || bytes.length !== SEED_BYTES) {
    throw new InvalidAsymmetricSecretError(
      `Invalid ed25519 public key: expected ${PUBLIC_KEY_PREFIX} followed by base64 of a ${SEED_BYTES}-byte key.`,
    );
  }
  return createPublicKey({ key: Buffer.concat([spkiEd25519Header, bytes]), format: 'der', type: 'spki' });
}

/** Tells whether a key verifies `v1a` (ed25519) signatures: a `whpk_` or `whsk_` key. */
export function isAsymmetricKey(key: string): boolean {
  return key.startsWith(PUBLIC_KEY_PREFIX) || isAsymmetricSecret(key);
}

/**
 * Checks an ed25519 signature (the base64 after `v1a,`) of one webhook with a `whpk_` or
 * `whsk_` key. Throws InvalidAsymmetricSecretError for an invalid key.
 */
export function verifyAsymmetric(key: string, msgId: string, timestampSeconds: number, body: Buffer, signature: Buffer): boolean {
  const content = Buffer.concat([Buffer.from(`${msgId}.${timestampSeconds}.`), body]);
  return verifyBytes(null, content, resolvePublicKey(key), signature);
}

