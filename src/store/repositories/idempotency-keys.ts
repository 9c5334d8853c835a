import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { SecretCipher } from '../secret-cipher.js';

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; statusCode: number; body: string };

export class IdempotencyKeyRepository {
  /**
   * With a cipher, stored responses are encrypted, because some of them contain a signing
   * secret (the workshop API returns one when it adds a subscription).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly cipher?: SecretCipher,
  ) {}

  /**
   * Claims a key for a request. The first caller gets `claimed` and must call complete()
   * or release(); later callers see the stored response, or that it is still running.
   */
  async claim(scope: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyClaim> {
    await this.db.deleteFrom('idempotency_key').where('scope', '=', scope).where('key', '=', key).where('expires_at', '<=', now).execute();
    const inserted = await this.db
      .insertInto('idempotency_key')
      .values({ scope, key, request_hash: requestHash, status_code: null, response_body: null, created_at: now, expires_at: now + ttlMs })
      .onConflict((conflict) => conflict.columns(['scope', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) {
      return { kind: 'claimed' };
    }

    const row = await this.db
      .selectFrom('idempotency_key')
      .selectAll()
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    if (!row) {
      return { kind: 'in_progress' };
    }
    if (row.request_hash !== requestHash) {
      return { kind: 'mismatch' };
    }
    if (row.status_code === null || row.response_body === null) {
      return { kind: 'in_progress' };
    }
    // NOTE: a response encrypted with a key since removed from HOOKLINE_ENCRYPTION_KEY
    // throws SecretDecryptionError here until the idempotency key expires (24 hours).
    const body = this.cipher ? this.cipher.decrypt(row.response_body, `idempotency:${scope}:${key}`) : row.response_body;
    return { kind: 'completed', statusCode: row.status_code, body };
  }

  async complete(scope: string, key: string, statusCode: number, body: string): Promise<void> {
    await this.db
      .updateTable('idempotency_key')
      .set({ status_code: statusCode, response_body: this.cipher ? this.cipher.encrypt(body, `idempotency:${scope}:${key}`) : body })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  /** Forgets a claim whose request failed, so the caller may try again with the same key. */
  async release(scope: string, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_key').where('scope', '=', scope).where('key', '=', key).execute();
  }

  async deleteExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('idempotency_key').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
