import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Message } from '../records.js';
import type { Database } from '../schema.js';
import { channelPattern, toMessage } from './messages.js';

/**
 * A position in an application's message stream, as an opaque string that is safe in a
 * URL and in an SSE `id` line. SQLite positions are the commit-ordered counter, such as
 * `42`. PostgreSQL positions are the inserting transaction's id and the message id, such
 * as `7312.msg_01jf8x…`, because one transaction may insert several messages.
 */
export type StreamPosition = string;

/** The position before the first message, in both stores. */
export const streamStart: StreamPosition = '0';

type ParsedPosition = { kind: 'sqlite'; seq: number } | { kind: 'postgres'; xid: string; id: string };

export interface StreamReadRequest {
  appId: string;
  /** Read the messages after this position. */
  after: StreamPosition;
  limit: number;
  /** Only messages of one of these event types. */
  eventTypes?: readonly string[] | undefined;
  /** Only messages with at least one of these channels. */
  channels?: readonly string[] | undefined;
  /** Only messages created after this time (ms). */
  createdAfter?: number | undefined;
}

export interface StreamItem {
  position: StreamPosition;
  message: Message;
}

export interface StreamReadResult {
  items: StreamItem[];
  /**
   * Position where the next read continues. When the read reached the end of the released stream,
   * this is the end itself, so messages that the filters skipped are not read again.
   */
  position: StreamPosition;
  /** True when the read reached the end of the released stream. */
  done: boolean;
  /**
   * PostgreSQL only: the application has committed messages past the released end, which
   * become readable as soon as older transactions of the database end.
   */
  unreleased: boolean;
}

const sqlitePosition = /^(0|[1-9]\d{0,15})$/;
const postgresPosition = /^(\d{1,20})\.(msg_[0-9a-z]{26})$/;

/** Reads messages in the order of their stream positions, for the pull API and the event stream. */
export class MessageStreamRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** Tells whether `text` is a position of this store's stream. */
  isPosition(text: string): boolean {
    return text === streamStart || this.parse(text) !== undefined;
  }

  /** Returns the position of the newest released message of the application, or undefined when it has none. */
  async end(appId: string): Promise<StreamPosition | undefined> {
    if (this.dialect === 'postgres') {
      const row = await this.db
        .selectFrom('message')
        .select([sql<string>`stream_xid::text`.as('xid'), 'id'])
        .where('app_id', '=', appId)
        .where(sql<SqlBool>`stream_xid < pg_snapshot_xmin(pg_current_snapshot())`)
        .orderBy('stream_xid', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? `${row.xid}.${row.id}` : undefined;
    }

    const row = await this.db
      .selectFrom('message')
      .select((eb) => eb.fn.max('stream_seq').as('seq'))
      .where('app_id', '=', appId)
      .executeTakeFirst();
    return row?.seq === null || row?.seq === undefined ? undefined : String(row.seq);
  }

  /**
   * Reads up to `limit` messages after `request.after` and no further than the released
   * end of the stream, which is read first. Everything at or before that end is committed
   * and no message can appear there later, so a reader that resumes from the returned
   * position never skips one.
   */
  async read(request: StreamReadRequest): Promise<StreamReadResult> {
    const after = request.after === streamStart ? undefined : this.parse(request.after);
    const endText = await this.end(request.appId);
    const end = endText === undefined ? undefined : this.parse(endText);
    const unreleased = await this.hasUnreleased(request.appId, end);
    if (end === undefined || (after !== undefined && compare(after, end) >= 0)) {
      return { items: [], position: request.after, done: true, unreleased };
    }

    let query = this.db.selectFrom('message').selectAll().where('app_id', '=', request.appId);
    query = query.where(this.positionAfter(after)).where(this.positionAtMost(end));
    if (request.eventTypes && request.eventTypes.length > 0) {
      query = query.where('event_type', 'in', [...request.eventTypes]);
    }
    if (request.channels && request.channels.length > 0) {
      const patterns = request.channels.map(channelPattern);
      query = query.where((eb) => eb.or(patterns.map((pattern) => eb('channels', 'like', pattern))));
    }
    if (request.createdAfter !== undefined) {
      query = query.where('created_at', '>', request.createdAfter);
    }
    query = this.dialect === 'postgres' ? query.orderBy('stream_xid').orderBy('id') : query.orderBy('stream_seq');

    const rows = await query.limit(request.limit + 1).execute();
    const done = rows.length <= request.limit;
    const items = rows.slice(0, request.limit).map((row) => ({
      position: this.dialect === 'postgres' ? `${row.stream_xid}.${row.id}` : String(row.stream_seq),
      message: toMessage(row),
    }));
    const last = items[items.length - 1];
    return { items, position: (done ? endText : last?.position) ?? request.after, done, unreleased };
  }

  private parse(text: string): ParsedPosition | undefined {
    if (this.dialect === 'postgres') {
      const match = postgresPosition.exec(text);
      return match?.[1] && match[2] ? { kind: 'postgres', xid: match[1], id: match[2] } : undefined;
    }
    return sqlitePosition.test(text) ? { kind: 'sqlite', seq: Number(text) } : undefined;
  }

  private positionAfter(position: ParsedPosition | undefined) {
    if (position === undefined) {
      return sql<SqlBool>`1 = 1`;
    }
    return position.kind === 'postgres'
      ? sql<SqlBool>`(stream_xid, id) > (${position.xid}::xid8, ${position.id})`
      : sql<SqlBool>`stream_seq > ${position.seq}`;
  }

  private positionAtMost(position: ParsedPosition) {
    return position.kind === 'postgres'
      ? sql<SqlBool>`(stream_xid, id) <= (${position.xid}::xid8, ${position.id})`
      : sql<SqlBool>`stream_seq <= ${position.seq}`;
  }

  private async hasUnreleased(appId: string, end: ParsedPosition | undefined): Promise<boolean> {
    if (this.dialect !== 'postgres') {
      return false;
    }
    const row = await this.db
      .selectFrom('message')
      .select('id')
      .where('app_id', '=', appId)
      .where(this.positionAfter(end))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}

function compare(left: ParsedPosition, right: ParsedPosition): number {
  if (left.kind === 'sqlite' && right.kind === 'sqlite') {
    return left.seq - right.seq;
  }
  if (left.kind === 'postgres' && right.kind === 'postgres') {
    const xidOrder = BigInt(left.xid) - BigInt(right.xid);
    if (xidOrder !== 0n) {
      return xidOrder < 0n ? -1 : 1;
    }
    if (left.id === right.id) {
      return 0;
    }
    return left.id < right.id ? -1 : 1;
  }
  return 0;
}
