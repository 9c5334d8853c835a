import type { Kysely, Selectable } from 'kysely';
import { readIterator, toPage, type Page } from '../pagination.js';
import type { Attempt, DeliveryStatus, TriggerType } from '../records.js';
import type { AttemptTable, Database } from '../schema.js';
import { channelPattern, type MessageFilter } from './messages.js';

function toAttempt(row: Selectable<AttemptTable>): Attempt {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    msgId: row.msg_id,
    endpointId: row.endpoint_id,
    appId: row.app_id,
    url: row.url,
    status: row.status as DeliveryStatus,
    responseStatusCode: row.response_status_code,
    response: row.response,
    responseDurationMs: row.response_duration_ms,
    triggerType: row.trigger_type as TriggerType,
    error: row.error,
    requestHeaders: JSON.parse(row.request_headers) as Record<string, string>,
    createdAt: Number(row.created_at),
  };
}

export function toAttemptRow(attempt: Attempt): Selectable<AttemptTable> {
  return {
    id: attempt.id,
    delivery_id: attempt.deliveryId,
    msg_id: attempt.msgId,
    endpoint_id: attempt.endpointId,
    app_id: attempt.appId,
    url: attempt.url,
    status: attempt.status,
    response_status_code: attempt.responseStatusCode,
    response: attempt.response,
    response_duration_ms: attempt.responseDurationMs,
    trigger_type: attempt.triggerType,
    error: attempt.error,
    request_headers: JSON.stringify(attempt.requestHeaders),
    created_at: attempt.createdAt,
  };
}

export interface AttemptFilter extends MessageFilter {
  status?: DeliveryStatus | undefined;
  /** 0 for attempts without a response, else 100, 200, 300, 400 or 500. */
  statusCodeClass?: number | undefined;
  endpointId?: string | undefined;
  msgId?: string | undefined;
}

export interface AttemptPageRequest extends AttemptFilter {
  limit: number;
  iterator?: string | undefined;
}

export class AttemptRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(appId: string, msgId: string, id: string): Promise<Attempt | undefined> {
    const row = await this.db
      .selectFrom('attempt')
      .selectAll()
      .where('app_id', '=', appId)
      .where('msg_id', '=', msgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toAttempt(row) : undefined;
  }

  /** Lists an application's attempts, newest first. */
  async list(appId: string, request: AttemptPageRequest): Promise<Page<Attempt>> {
    let query = this.db.selectFrom('attempt').selectAll('attempt').where('attempt.app_id', '=', appId);
    if (request.endpointId !== undefined) {
      query = query.where('attempt.endpoint_id', '=', request.endpointId);
    }
    if (request.msgId !== undefined) {
      query = query.where('attempt.msg_id', '=', request.msgId);
    }
    const keyset = readIterator(request.iterator, 'descending');
    if (keyset.key !== undefined) {
      query = query.where('attempt.id', keyset.operator, keyset.key);
    }
    if (request.status !== undefined) {
      query = query.where('attempt.status', '=', request.status);
    }
    if (request.statusCodeClass !== undefined) {
      const low = request.statusCodeClass;
      query =
        low === 0
          ? query.where('attempt.response_status_code', '=', 0)
          : query.where('attempt.response_status_code', '>=', low).where('attempt.response_status_code', '<', low + 100);
    }
    if (request.before !== undefined) {
      query = query.where('attempt.created_at', '<', request.before);
    }
    if (request.after !== undefined) {
      query = query.where('attempt.created_at', '>', request.after);
    }
    if (request.channel !== undefined || (request.eventTypes && request.eventTypes.length > 0)) {
      let messages = this.db.selectFrom('message').select('message.id').where('message.app_id', '=', appId);
      if (request.channel !== undefined) {
        messages = messages.where('message.channels', 'like', channelPattern(request.channel));
      }
      if (request.eventTypes && request.eventTypes.length > 0) {
        messages = messages.where('message.event_type', 'in', request.eventTypes);
      }
      query = query.where('attempt.msg_id', 'in', messages);
    }
    const rows = await query.orderBy('attempt.id', keyset.direction).limit(request.limit + 1).execute();
    return toPage(rows.map(toAttempt), request.limit, (attempt) => attempt.id, request.iterator, keyset.backwards);
  }
}
