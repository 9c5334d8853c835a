import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface StoredToken {
  id: string;
  kind: string;
  appId: string | null;
  expiresAt: number | null;
}

export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(id: string, token: string, kind: string, appId: string | null, expiresAt: number | null, now: number): Promise<void> {
    await this.db
      .insertInto('token')
      .values({ id, token_hash: hashToken(token), kind, app_id: appId, expires_at: expiresAt, created_at: now })
      .execute();
  }

  /** Finds a token by its value; the lookup goes through its hash. */
  async findByToken(token: string): Promise<StoredToken | undefined> {
    const row = await this.db.selectFrom('token').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!row) {
      return undefined;
    }
    return { id: row.id, kind: row.kind, appId: row.app_id, expiresAt: row.expires_at === null ? null : Number(row.expires_at) };
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('token').where('id', '=', id).execute();
  }

  /** Deletes the tokens that expired at or before `now` and returns how many. */
  async deleteExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('token').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
