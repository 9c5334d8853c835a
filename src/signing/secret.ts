import { randomBytes } from 'node:crypto';

/** Prefix of symmetric Standard Webhooks signing secrets. */
export const SECRET_PREFIX = 'whsec_';

/** Smallest and largest number of key bytes a signing secret may encode. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

const GENERATED_SECRET_BYTES = 24;

// Standard base64 alphabet with optional padding. Node's decoder skips characters outside
// the alphabet without complaint, so the text is checked before it is decoded.
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** Error for a signing secret that is not `whsec_` followed by 24 to 64 bytes in base64. */
export class InvalidSecretError extends Error {
  override name = 'InvalidSecretError';
}

/** Formats key bytes as a signing secret: `whsec_` and the bytes in base64. */
export function formatSecret(key: Buffer): string {
  return `${SECRET_PREFIX}${key.toString('base64')}`;
}

/** Generates a signing secret of 24 random bytes, such as `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`. */
export function generateSecret(): string {
  return formatSecret(randomBytes(GENERATED_SECRET_BYTES));
}

function decodeSecret(secret: string): Buffer | string {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0) {
    return 'the secret is empty';
  }
  if (!base64Pattern.test(encoded)) {
    return 'the secret contains characters outside standard base64 (A-Z, a-z, 0-9, +, / and = padding)';
  }

  const key = Buffer.from(encoded, 'base64');
  // Re-encoding rejects text whose length or padding no encoder would produce, such as
  // a truncated secret, because Node's decoder would otherwise drop the stray bits.
  if (key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    return 'the secret is not valid base64: its length or last character is wrong, as happens when it was cut short';
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    return `the secret encodes ${key.length} bytes, expected ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}`;
  }
  return key;
}

/**
 * Checks a signing secret, for example one that a user supplies through the API.
 * Returns why the secret is invalid, or undefined when it is valid.
 */
export function validateSecret(secret: string): string | undefined {
  const decoded = decodeSecret(secret);
  return typeof decoded === 'string' ? decoded : undefined;
}

/**
 * Decodes a signing secret, with or without the `whsec_` prefix, into its key bytes.
 * Throws InvalidSecretError unless the rest is standard base64 of 24 to 64 bytes.
 */
export function parseSecret(secret: string): Buffer {
  const decoded = decodeSecret(secret);
  if (typeof decoded === 'string') {
    throw new InvalidSecretError(`Invalid signing secret: ${decoded}. Expected whsec_ followed by base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes.`);
  }
  return decoded;
}
