import type { Kysely, Selectable } from 'kysely';
import { readIterator, toPage, type Page, type PageRequest } from '../pagination.js';
import type { EventType } from '../records.js';
import type { Database, EventTypeTable } from '../schema.js';

function toEventType(row: Selectable<EventTypeTable>): EventType {
  return {
    name: row.name,
    description: row.description,
    schemas: row.schemas === null ? null : (JSON.parse(row.schemas) as Record<string, unknown>),
    archived: row.archived === 1,
    deprecated: row.deprecated === 1,
    featureFlag: row.feature_flag,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(eventType: EventType): Selectable<EventTypeTable> {
  return {
    name: eventType.name,
    description: eventType.description,
    schemas: eventType.schemas === null ? null : JSON.stringify(eventType.schemas),
    archived: eventType.archived ? 1 : 0,
    deprecated: eventType.deprecated ? 1 : 0,
    feature_flag: eventType.featureFlag,
    created_at: eventType.createdAt,
    updated_at: eventType.updatedAt,
  };
}

export class EventTypeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(name: string): Promise<EventType | undefined> {
    const row = await this.db.selectFrom('event_type').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toEventType(row) : undefined;
  }

  /**
   * Inserts the event type and returns true, or returns false when one with its name
   * exists, including one inserted by a concurrent request since the caller looked.
   */
  async insert(eventType: EventType): Promise<boolean> {
    const result = await this.db
      .insertInto('event_type')
      .values(toRow(eventType))
      .onConflict((conflict) => conflict.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Inserts the event type unless one with its name exists. */
  async insertIfMissing(eventType: EventType): Promise<void> {
    await this.db
      .insertInto('event_type')
      .values(toRow(eventType))
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
  }

  async update(eventType: EventType): Promise<void> {
    const { name: _name, created_at: _created, ...changes } = toRow(eventType);
    await this.db.updateTable('event_type').set(changes).where('name', '=', eventType.name).execute();
  }

  async delete(name: string): Promise<void> {
    await this.db.deleteFrom('event_type').where('name', '=', name).execute();
  }

  async list(page: PageRequest, includeArchived: boolean): Promise<Page<EventType>> {
    let query = this.db.selectFrom('event_type').selectAll();
    if (!includeArchived) {
      query = query.where('archived', '=', 0);
    }
    const keyset = readIterator(page.iterator, page.order);
    if (keyset.key !== undefined) {
      query = query.where('name', keyset.operator, keyset.key);
    }
    const rows = await query
      .orderBy('name', keyset.direction)
      .limit(page.limit + 1)
      .execute();
    return toPage(rows.map(toEventType), page.limit, (eventType) => eventType.name, page.iterator, keyset.backwards);
  }
}
