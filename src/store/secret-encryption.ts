import { sql, type Kysely } from 'kysely';
import type { Dialect } from './dialect.js';
import type { Database } from './schema.js';
import { ENCRYPTED_SECRET_PREFIX, isEncryptedSecret, keyIdOf, SecretDecryptionError, type SecretCipher } from './secret-cipher.js';

/**
 * Error that stops start-up because the stored secrets and HOOKLINE_ENCRYPTION_KEY do not
 * fit together. Its code lets the CLI print the message without a stack trace.
 */
export class SecretEncryptionError extends Error {
  override name = 'SecretEncryptionError';
  readonly code = 'ERR_HOOKLINE_ENCRYPTION_KEY';
}

const batchSize = 500;

/**
 * Brings the stored signing secrets in line with the configured encryption, at start-up.
 * Without a cipher it only checks that no secret is encrypted, since those could not be
 * read. With one, it encrypts plain-text secrets and secrets written with an older key
 * again with the current key, and returns how many it rewrote.
 * Throws SecretEncryptionError when a secret was encrypted with a key that is not configured.
 */
export async function encryptStoredSecrets(db: Kysely<Database>, cipher: SecretCipher | undefined): Promise<number> {
  if (cipher === undefined) {
    const encrypted = await db
      .selectFrom('endpoint_secret')
      .select('id')
      .where('secret', 'like', `${ENCRYPTED_SECRET_PREFIX}%`)
      .limit(1)
      .executeTakeFirst();
    if (encrypted) {
      throw new SecretEncryptionError(
        'The database contains encrypted signing secrets, but HOOKLINE_ENCRYPTION_KEY is not set. Set it to the key these secrets were encrypted with.',
      );
    }
    return 0;
  }

  let rewritten = 0;
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('endpoint_secret')
      .select(['id', 'secret'])
      .where('secret', 'not like', `${ENCRYPTED_SECRET_PREFIX}${cipher.currentKeyId}:%`)
      .where('id', '>', after)
      .orderBy('id')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) {
      return rewritten;
    }

    for (const row of rows) {
      const sealed = cipher.encrypt(openForStartup(cipher, row.secret, row.id), row.id);
      // The old value in the condition keeps a rotation by another process from being overwritten.
      const result = await db
        .updateTable('endpoint_secret')
        .set({ secret: sealed })
        .where('id', '=', row.id)
        .where('secret', '=', row.secret)
        .executeTakeFirst();
      rewritten += Number(result.numUpdatedRows);
    }
    after = rows[rows.length - 1]?.id ?? after;
  }
}

function openForStartup(cipher: SecretCipher, stored: string, rowId: string): string {
  try {
    return cipher.decrypt(stored, rowId);
  } catch (error) {
    if (!(error instanceof SecretDecryptionError)) {
      throw error;
    }
    const keyId = isEncryptedSecret(stored) ? keyIdOf(stored) : 'unknown';
    throw new SecretEncryptionError(
      `HOOKLINE_ENCRYPTION_KEY cannot decrypt the stored signing secrets: they were encrypted with another key (key id ${keyId}, configured ${cipher.currentKeyId}). Set the key they were encrypted with, or list it after the new key to change keys. ${error.message}`,
    );
  }
}

/**
 * Rewrites the storage that held the secrets before they were encrypted, so that no
 * plain-text copy stays behind in free pages. SQLite: the write-ahead log is checkpointed
 * and truncated and the database is rebuilt with VACUUM. PostgreSQL: the secrets table is
 * rewritten with VACUUM FULL; copies in its write-ahead log and in backups taken earlier
 * remain until those are recycled.
 */
export async function discardPlaintextCopies(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    await sql`vacuum`.execute(db);
    await sql`pragma wal_checkpoint(truncate)`.execute(db);
    return;
  }
  await sql`vacuum full endpoint_secret`.execute(db);
}
