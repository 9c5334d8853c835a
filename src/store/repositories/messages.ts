import type { Kysely, Selectable, Transaction } from 'kysely';
import { parseJsonColumn, toJsonColumn } from '../json.js';
import { readIterator, toPage, type Page } from '../pagination.js';
import type { Message } from '../records.js';
import { Precompiled } from '../precompiled.js';
import type { Database, MessageTable } from '../schema.js';

export function toMessage(row: Selectable<MessageTable>): Message {
  return {
    id: row.id,
    appId: row.app_id,
    eventType: row.event_type,
    eventId: row.event_id,
    payload: Buffer.isBuffer(row.payload) ? row.payload : Buffer.from(row.payload),
    channels: parseJsonColumn<string[]>(row.channels),
    tags: parseJsonColumn<string[]>(row.tags),
    createdAt: Number(row.created_at),
    ...(row.payload_expires_at === null || row.payload_expires_at === undefined ? {} : { payloadExpiresAt: Number(row.payload_expires_at) }),
  };
}

/** Filters of message and attempt lists, as the Svix API names them. */
export interface MessageFilter {
  channel?: string | undefined;
  eventTypes?: string[] | undefined;
  /** Only items created before this time (ms). */
  before?: number | undefined;
  /** Only items created after this time (ms). */
  after?: number | undefined;
}

export interface MessagePageRequest extends MessageFilter {
  limit: number;
  iterator?: string | undefined;
}

/**
 * LIKE pattern that matches a channel inside a JSON array column, on SQLite and PostgreSQL.
 * NOTE: `_` in a channel name is a LIKE wildcard, so `a_b` also matches a channel `axb`.
 * Channel names are validated to `[a-zA-Z0-9-_.]`, so `%` cannot occur.
 */
export function channelPattern(channel: string): string {
  return `%${JSON.stringify(channel)}%`;
}

const selectById = new Precompiled(1, (db, id: string) => db.selectFrom('message').selectAll().where('id', '=', id));
const insertMessage = new Precompiled(
  10,
  (
    db,
    id: string,
    appId: string,
    eventType: string,
    eventId: string | null,
    payload: Buffer,
    channels: string | null,
    tags: string | null,
    createdAt: number,
    payloadExpiresAt: number | null,
    fannedOut: number,
  ) =>
    db.insertInto('message').values({
      id,
      app_id: appId,
      event_type: eventType,
      event_id: eventId,
      payload,
      channels,
      tags,
      created_at: createdAt,
      payload_expires_at: payloadExpiresAt,
      fanned_out: fannedOut,
    }),
);
const setFannedOut = new Precompiled(1, (db, id: string) => db.updateTable('message').set({ fanned_out: 1 }).where('id', '=', id));

export class MessageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts a message. `fannedOut` means that its deliveries are written in the same
   * transaction, so the fan-out queue and the recovery sweep leave it alone.
   */
  async insert(message: Message, transaction: Transaction<Database>, fannedOut = false): Promise<void> {
    await insertMessage.execute(
      transaction,
      message.id,
      message.appId,
      message.eventType,
      message.eventId,
      message.payload,
      toJsonColumn(message.channels),
      toJsonColumn(message.tags),
      message.createdAt,
      message.payloadExpiresAt ?? null,
      fannedOut ? 1 : 0,
    );
  }

  async markFannedOut(id: string, transaction: Transaction<Database>): Promise<void> {
    await setFannedOut.execute(transaction, id);
  }

  /** Ids of messages stored before `before` whose fan-out has not finished, in id order after `afterId`. */
  async listNotFannedOut(before: number, limit: number, afterId?: string): Promise<string[]> {
    let query = this.db.selectFrom('message').select('id').where('fanned_out', '=', 0).where('created_at', '<', before);
    if (afterId !== undefined) {
      query = query.where('id', '>', afterId);
    }
    const rows = await query.orderBy('id').limit(limit).execute();
    return rows.map((row) => row.id);
  }

  async find(appId: string, id: string): Promise<Message | undefined> {
    const row = await this.db
      .selectFrom('message')
      .selectAll()
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toMessage(row) : undefined;
  }

  async findById(id: string): Promise<Message | undefined> {
    const [row] = (await selectById.execute(this.db, id)).rows;
    return row ? toMessage(row) : undefined;
  }

  async findByEventId(appId: string, eventId: string): Promise<Message | undefined> {
    const row = await this.db
      .selectFrom('message')
      .selectAll()
      .where('app_id', '=', appId)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row ? toMessage(row) : undefined;
  }

  /** Lists an application's messages, newest first. */
  async list(appId: string, request: MessagePageRequest): Promise<Page<Message>> {
    let query = this.db.selectFrom('message').selectAll().where('app_id', '=', appId);
    const keyset = readIterator(request.iterator, 'descending');
    if (keyset.key !== undefined) {
      query = query.where('id', keyset.operator, keyset.key);
    }
    if (request.channel !== undefined) {
      query = query.where('channels', 'like', channelPattern(request.channel));
    }
    if (request.eventTypes && request.eventTypes.length > 0) {
      query = query.where('event_type', 'in', request.eventTypes);
    }
    if (request.before !== undefined) {
      query = query.where('created_at', '<', request.before);
    }
    if (request.after !== undefined) {
      query = query.where('created_at', '>', request.after);
    }
    const rows = await query.orderBy('id', keyset.direction).limit(request.limit + 1).execute();
    return toPage(rows.map(toMessage), request.limit, (message) => message.id, request.iterator, keyset.backwards);
  }
}
