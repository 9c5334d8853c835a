import type { Kysely, Selectable } from 'kysely';
import { readIterator, toPage, type Page, type PageRequest } from '../pagination.js';
import type { Application } from '../records.js';
import { Precompiled } from '../precompiled.js';
import type { ApplicationTable, Database } from '../schema.js';

function toApplication(row: Selectable<ApplicationTable>): Application {
  return {
    id: row.id,
    uid: row.uid,
    name: row.name,
    throttleRate: row.throttle_rate,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(application: Application): Selectable<ApplicationTable> {
  return {
    id: application.id,
    uid: application.uid,
    name: application.name,
    throttle_rate: application.throttleRate,
    metadata: JSON.stringify(application.metadata),
    created_at: application.createdAt,
    updated_at: application.updatedAt,
  };
}

const selectById = new Precompiled(1, (db, id: string) => db.selectFrom('application').selectAll().where('id', '=', id));
const selectByUid = new Precompiled(1, (db, uid: string) => db.selectFrom('application').selectAll().where('uid', '=', uid));

export class ApplicationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Finds an application by its id or, failing that, by its uid. */
  async findByIdOrUid(idOrUid: string): Promise<Application | undefined> {
    // Two lookups on unique indexes cost less than one query with OR, which SQLite runs
    // with both indexes and a sort. An id match wins over a uid match.
    // Every id starts with `app_`, so a value without it can only be a uid.
    const [byId] = idOrUid.startsWith('app_') ? (await selectById.execute(this.db, idOrUid)).rows : [];
    const match = byId ?? (await selectByUid.execute(this.db, idOrUid)).rows[0];
    return match ? toApplication(match) : undefined;
  }

  async findByUid(uid: string): Promise<Application | undefined> {
    const row = await this.db.selectFrom('application').selectAll().where('uid', '=', uid).executeTakeFirst();
    return row ? toApplication(row) : undefined;
  }

  async insert(application: Application, db: Kysely<Database> = this.db): Promise<void> {
    await db.insertInto('application').values(toRow(application)).execute();
  }

  async update(application: Application): Promise<void> {
    const { id: _id, created_at: _created, ...changes } = toRow(application);
    await this.db.updateTable('application').set(changes).where('id', '=', application.id).execute();
  }

  async list(page: PageRequest): Promise<Page<Application>> {
    let query = this.db.selectFrom('application').selectAll();
    const keyset = readIterator(page.iterator, page.order);
    if (keyset.key !== undefined) {
      query = query.where('id', keyset.operator, keyset.key);
    }
    const rows = await query
      .orderBy('id', keyset.direction)
      .limit(page.limit + 1)
      .execute();
    return toPage(rows.map(toApplication), page.limit, (application) => application.id, page.iterator, keyset.backwards);
  }

  /** Deletes an application with its endpoints, secrets, messages, deliveries and attempts. */
  async deleteWithEverything(id: string): Promise<void> {
    await this.db.transaction().execute(async (transaction) => {
      const endpointIds = transaction.selectFrom('endpoint').select('id').where('app_id', '=', id);
      await transaction.deleteFrom('endpoint_secret').where('endpoint_id', 'in', endpointIds).execute();
      await transaction.deleteFrom('endpoint_health').where('endpoint_id', 'in', endpointIds).execute();
      await transaction.deleteFrom('attempt').where('app_id', '=', id).execute();
      await transaction.deleteFrom('delivery').where('app_id', '=', id).execute();
      await transaction.deleteFrom('message').where('app_id', '=', id).execute();
      await transaction.deleteFrom('endpoint').where('app_id', '=', id).execute();
      await transaction.deleteFrom('token').where('app_id', '=', id).execute();
      await transaction.deleteFrom('application').where('id', '=', id).execute();
    });
  }
}
