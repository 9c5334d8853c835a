import type { Kysely, Selectable } from 'kysely';
import { createId } from '../ids.js';
import { parseJsonColumn, toJsonColumn } from '../json.js';
import { readIterator, toPage, type Page, type PageRequest } from '../pagination.js';
import type { Endpoint, EndpointSecret } from '../records.js';
import { Precompiled } from '../precompiled.js';
import type { Database, EndpointTable } from '../schema.js';
import type { SecretCipher } from '../secret-cipher.js';

function toEndpoint(row: Selectable<EndpointTable>): Endpoint {
  return {
    id: row.id,
    appId: row.app_id,
    uid: row.uid,
    url: row.url,
    description: row.description,
    disabled: row.disabled === 1,
    throttleRate: row.throttle_rate,
    eventTypes: parseJsonColumn<string[]>(row.event_types),
    channels: parseJsonColumn<string[]>(row.channels),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    headers: JSON.parse(row.headers) as Record<string, string>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(endpoint: Endpoint): Selectable<EndpointTable> {
  return {
    id: endpoint.id,
    app_id: endpoint.appId,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    disabled: endpoint.disabled ? 1 : 0,
    throttle_rate: endpoint.throttleRate,
    event_types: toJsonColumn(endpoint.eventTypes),
    channels: toJsonColumn(endpoint.channels),
    metadata: JSON.stringify(endpoint.metadata),
    headers: JSON.stringify(endpoint.headers),
    created_at: endpoint.createdAt,
    updated_at: endpoint.updatedAt,
  };
}

const selectById = new Precompiled(1, (db, id: string) => db.selectFrom('endpoint').selectAll().where('id', '=', id));
const selectActiveSecrets = new Precompiled(2, (db, endpointId: string, now: number) =>
  db
    .selectFrom('endpoint_secret')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('created_at', 'desc'),
);
const selectEnabled = new Precompiled(1, (db, appId: string) => db.selectFrom('endpoint').selectAll().where('app_id', '=', appId).where('disabled', '=', 0));

export class EndpointRepository {
  /** With a cipher, signing secrets are encrypted before they are written and decrypted when read. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly cipher?: SecretCipher,
  ) {}

  private sealSecret(secret: string, rowId: string): string {
    return this.cipher ? this.cipher.encrypt(secret, rowId) : secret;
  }

  private openSecret(stored: string, rowId: string): string {
    return this.cipher ? this.cipher.decrypt(stored, rowId) : stored;
  }

  /** Finds an endpoint of the application by id or uid. */
  async findByIdOrUid(appId: string, idOrUid: string): Promise<Endpoint | undefined> {
    const rows = await this.db
      .selectFrom('endpoint')
      .selectAll()
      .where('app_id', '=', appId)
      .where((eb) => eb.or([eb('id', '=', idOrUid), eb('uid', '=', idOrUid)]))
      .limit(2)
      .execute();
    const match = rows.find((row) => row.id === idOrUid) ?? rows[0];
    return match ? toEndpoint(match) : undefined;
  }

  async findById(id: string): Promise<Endpoint | undefined> {
    const [row] = (await selectById.execute(this.db, id)).rows;
    return row ? toEndpoint(row) : undefined;
  }

  async findByUid(appId: string, uid: string): Promise<Endpoint | undefined> {
    const row = await this.db
      .selectFrom('endpoint')
      .selectAll()
      .where('app_id', '=', appId)
      .where('uid', '=', uid)
      .executeTakeFirst();
    return row ? toEndpoint(row) : undefined;
  }

  /** Inserts an endpoint with its first signing secret. */
  async insert(endpoint: Endpoint, secret: string): Promise<void> {
    const secretId = createId('sec');
    await this.db.transaction().execute(async (transaction) => {
      await transaction.insertInto('endpoint').values(toRow(endpoint)).execute();
      await transaction
        .insertInto('endpoint_secret')
        .values({
          id: secretId,
          endpoint_id: endpoint.id,
          secret: this.sealSecret(secret, secretId),
          created_at: endpoint.createdAt,
          expires_at: null,
        })
        .execute();
    });
  }

  async update(endpoint: Endpoint): Promise<void> {
    const { id: _id, app_id: _app, created_at: _created, ...changes } = toRow(endpoint);
    await this.db.updateTable('endpoint').set(changes).where('id', '=', endpoint.id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (transaction) => {
      await transaction.deleteFrom('endpoint_secret').where('endpoint_id', '=', id).execute();
      await transaction.deleteFrom('endpoint_health').where('endpoint_id', '=', id).execute();
      await transaction.deleteFrom('endpoint').where('id', '=', id).execute();
    });
  }

  async list(appId: string, page: PageRequest): Promise<Page<Endpoint>> {
    let query = this.db.selectFrom('endpoint').selectAll().where('app_id', '=', appId);
    const keyset = readIterator(page.iterator, page.order);
    if (keyset.key !== undefined) {
      query = query.where('id', keyset.operator, keyset.key);
    }
    const rows = await query
      .orderBy('id', keyset.direction)
      .limit(page.limit + 1)
      .execute();
    return toPage(rows.map(toEndpoint), page.limit, (endpoint) => endpoint.id, page.iterator, keyset.backwards);
  }

  /** Enabled endpoints of an application, for fan-out. */
  async listEnabled(appId: string, db: Kysely<Database> = this.db): Promise<Endpoint[]> {
    const { rows } = await selectEnabled.execute(db, appId);
    return rows.map(toEndpoint);
  }

  /**
   * Signing secrets in force at `now`: the current one first, then rotated-out secrets
   * whose grace period has not ended.
   */
  async activeSecrets(endpointId: string, now: number): Promise<EndpointSecret[]> {
    const { rows } = await selectActiveSecrets.execute(this.db, endpointId, now);
    const secrets = rows.map((row) => ({
      id: row.id,
      endpointId: row.endpoint_id,
      secret: this.openSecret(row.secret, row.id),
      createdAt: Number(row.created_at),
      expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    }));
    return secrets.sort((a, b) => Number(a.expiresAt !== null) - Number(b.expiresAt !== null));
  }

  /** Makes `secret` the current secret; the old one keeps signing until `oldExpiresAt`. */
  async rotateSecret(endpointId: string, secret: string, now: number, oldExpiresAt: number): Promise<void> {
    const secretId = createId('sec');
    await this.db.transaction().execute(async (transaction) => {
      await transaction
        .updateTable('endpoint_secret')
        .set({ expires_at: oldExpiresAt })
        .where('endpoint_id', '=', endpointId)
        .where('expires_at', 'is', null)
        .execute();
      await transaction
        .deleteFrom('endpoint_secret')
        .where('endpoint_id', '=', endpointId)
        .where('expires_at', '<=', now)
        .execute();
      await transaction
        .insertInto('endpoint_secret')
        .values({ id: secretId, endpoint_id: endpointId, secret: this.sealSecret(secret, secretId), created_at: now, expires_at: null })
        .execute();
    });
  }
}
