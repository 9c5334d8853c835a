import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Prefix of a secret encrypted by SecretCipher, followed by `<key id>:<base64 of nonce, ciphertext and tag>`. */
export const ENCRYPTED_SECRET_PREFIX = 'hlenc1:';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Error for a stored secret that the configured keys cannot decrypt. */
export class SecretDecryptionError extends Error {
  override name = 'SecretDecryptionError';
}

/**
 * Derives a short, public identifier of an encryption key, stored beside each ciphertext so
 * that the key that wrote a secret is found without trying every key. It is an HMAC of a
 * fixed label, which reveals nothing about the key.
 */
export function encryptionKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('hookline secret encryption key id').digest('hex').slice(0, 16);
}

/**
 * Encrypts signing secrets for the database with AES-256-GCM. The first key encrypts; every
 * key decrypts, so a previous key can stay configured while its rows are encrypted again.
 * Each secret is bound to its row id as additional authenticated data, so a ciphertext
 * copied to another row does not decrypt.
 */
export class SecretCipher {
  private readonly keys: Map<string, Buffer>;
  /** Id of the key that encrypts new secrets. */
  readonly currentKeyId: string;

  constructor(keys: readonly Buffer[]) {
    const [current] = keys;
    if (current === undefined) {
      throw new RangeError('SecretCipher needs at least one key.');
    }
    for (const key of keys) {
      if (key.length !== KEY_BYTES) {
        throw new RangeError(`An AES-256 key has ${KEY_BYTES} bytes, not ${key.length}.`);
      }
    }
    this.keys = new Map(keys.map((key) => [encryptionKeyId(key), key]));
    this.currentKeyId = encryptionKeyId(current);
  }

  /** Encrypts a secret of the row `rowId` with the current key. */
  encrypt(secret: string, rowId: string): string {
    const key = this.keys.get(this.currentKeyId) as Buffer;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(rowId));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64');
    return `${ENCRYPTED_SECRET_PREFIX}${this.currentKeyId}:${sealed}`;
  }

  /** Tells whether a stored value is encrypted with the current key. */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`${ENCRYPTED_SECRET_PREFIX}${this.currentKeyId}:`);
  }

  /**
   * Returns the secret of a stored value: the value itself when it was written before
   * encryption was on, else its decryption. Throws SecretDecryptionError when no configured
   * key wrote it or when the ciphertext does not authenticate.
   */
  decrypt(stored: string, rowId: string): string {
    if (!isEncryptedSecret(stored)) {
      return stored;
    }
    const keyId = keyIdOf(stored);
    const key = this.keys.get(keyId);
    if (key === undefined) {
      throw new SecretDecryptionError(
        `The secret of row ${rowId} was encrypted with a key (id ${keyId}) that HOOKLINE_ENCRYPTION_KEY does not contain.`,
      );
    }
    return openSealed(key, stored.slice(ENCRYPTED_SECRET_PREFIX.length + keyId.length + 1), rowId);
  }
}

/** Tells whether a stored secret is encrypted. */
export function isEncryptedSecret(stored: string): boolean {
  return stored.startsWith(ENCRYPTED_SECRET_PREFIX);
}

/** Returns the key id of an encrypted stored secret. */
export function keyIdOf(stored: string): string {
  return stored.slice(ENCRYPTED_SECRET_PREFIX.length, stored.indexOf(':', ENCRYPTED_SECRET_PREFIX.length));
}

function openSealed(key: Buffer, encoded: string, rowId: string): string {
  const sealed = Buffer.from(encoded, 'base64');
  if (sealed.length < NONCE_BYTES + TAG_BYTES) {
    throw new SecretDecryptionError(`The encrypted secret of row ${rowId} is truncated.`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(rowId));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptionError(`The encrypted secret of row ${rowId} does not authenticate: it was changed, or written with another key.`);
  }
}
