import type { Kysely } from 'kysely';
import { readIterator, toPage, type Page } from '../pagination.js';
import type { DeliveryStatus } from '../records.js';
import type { Database } from '../schema.js';

export interface MessageLogRequest {
  limit: number;
  iterator?: string | undefined;
  eventTypes?: string[] | undefined;
  /** Only messages with at least one delivery in this status. */
  status?: DeliveryStatus | undefined;
  before?: number | undefined;
  after?: number | undefined;
}

/** One delivery of a message as the message log shows it. */
export interface MessageLogDelivery {
  endpointId: string;
  /** The endpoint's URL, or null once the endpoint is deleted. */
  url: string | null;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: number | null;
}

/** A message without its payload, with the status of each of its deliveries. */
export interface MessageLogEntry {
  id: string;
  eventType: string;
  eventId: string | null;
  channels: string[] | null;
  createdAt: number;
  deliveries: MessageLogDelivery[];
}

/** Reads the portal's message log: messages newest first with their delivery states. */
export class MessageLogRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async list(appId: string, request: MessageLogRequest): Promise<Page<MessageLogEntry>> {
    let query = this.db
      .selectFrom('message')
      .select(['message.id', 'message.event_type', 'message.event_id', 'message.channels', 'message.created_at'])
      .where('message.app_id', '=', appId);
    const keyset = readIterator(request.iterator, 'descending');
    if (keyset.key !== undefined) {
      query = query.where('message.id', keyset.operator, keyset.key);
    }
    if (request.eventTypes && request.eventTypes.length > 0) {
      query = query.where('message.event_type', 'in', request.eventTypes);
    }
    if (request.before !== undefined) {
      query = query.where('message.created_at', '<', request.before);
    }
    if (request.after !== undefined) {
      query = query.where('message.created_at', '>', request.after);
    }
    const status = request.status;
    if (status !== undefined) {
      query = query.where((eb) =>
        eb.exists(
          eb
            .selectFrom('delivery')
            .select('delivery.id')
            .whereRef('delivery.msg_id', '=', 'message.id')
            .where('delivery.status', '=', status),
        ),
      );
    }
    const rows = await query.orderBy('message.id', keyset.direction).limit(request.limit + 1).execute();
    const page = toPage(rows, request.limit, (row) => row.id, request.iterator, keyset.backwards);

    const deliveries = await this.deliveriesOf(page.data.map((row) => row.id));
    return {
      ...page,
      data: page.data.map((row) => ({
        id: row.id,
        eventType: row.event_type,
        eventId: row.event_id,
        channels: row.channels === null ? null : (JSON.parse(row.channels) as string[]),
        createdAt: Number(row.created_at),
        deliveries: deliveries.get(row.id) ?? [],
      })),
    };
  }

  private async deliveriesOf(msgIds: string[]): Promise<Map<string, MessageLogDelivery[]>> {
    const byMessage = new Map<string, MessageLogDelivery[]>();
    if (msgIds.length === 0) {
      return byMessage;
    }
    const rows = await this.db
      .selectFrom('delivery')
      .leftJoin('endpoint', 'endpoint.id', 'delivery.endpoint_id')
      .select([
        'delivery.msg_id',
        'delivery.endpoint_id',
        'delivery.status',
        'delivery.attempt_count',
        'delivery.next_attempt_at',
        'endpoint.url',
      ])
      .where('delivery.msg_id', 'in', msgIds)
      .orderBy('delivery.endpoint_id')
      .execute();
    for (const row of rows) {
      const list = byMessage.get(row.msg_id) ?? [];
      list.push({
        endpointId: row.endpoint_id,
        url: row.url ?? null,
        status: row.status as DeliveryStatus,
        attemptCount: row.attempt_count,
        nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
      });
      byMessage.set(row.msg_id, list);
    }
    return byMessage;
  }
}
