import type { Kysely, Selectable, SelectQueryBuilder, Transaction } from 'kysely';
import type { Delivery, DeliveryStatus } from '../records.js';
import { GroupCommitter } from '../group-commit.js';
import { Precompiled } from '../precompiled.js';
import type { Database, DeliveryTable } from '../schema.js';

export function toDelivery(row: Selectable<DeliveryTable>): Delivery {
  return {
    id: row.id,
    msgId: row.msg_id,
    endpointId: row.endpoint_id,
    appId: row.app_id,
    status: row.status as DeliveryStatus,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export interface DeliveryCounts {
  success: number;
  pending: number;
  fail: number;
  sending: number;
}

const selectById = new Precompiled(1, (db, id: string) => db.selectFrom('delivery').selectAll().where('id', '=', id));
const updateStatus = new Precompiled(4, (db, id: string, status: DeliveryStatus, nextAttemptAt: number | null, now: number) =>
  db.updateTable('delivery').set({ status, next_attempt_at: nextAttemptAt, updated_at: now }).where('id', '=', id),
);

const insertOne = new Precompiled(
  9,
  (
    db,
    id: string,
    msgId: string,
    endpointId: string,
    appId: string,
    status: DeliveryStatus,
    attemptCount: number,
    nextAttemptAt: number | null,
    createdAt: number,
    updatedAt: number,
  ) =>
    db
      .insertInto('delivery')
      .values({
        id,
        msg_id: msgId,
        endpoint_id: endpointId,
        app_id: appId,
        status,
        attempt_count: attemptCount,
        next_attempt_at: nextAttemptAt,
        created_at: createdAt,
        updated_at: updatedAt,
      })
      .onConflict((conflict) => conflict.columns(['msg_id', 'endpoint_id']).doNothing())
      .returning('id'),
);

/** Fan-outs up to this size insert one precompiled row at a time; larger ones use multi-row statements. */
const rowByRowLimit = 4;

export class DeliveryRepository {
  /**
   * `commits` groups the status changes made outside a caller's transaction with the other
   * writes of the same turn of the event loop. Without it, they group only among themselves.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly commits: GroupCommitter = new GroupCommitter(db),
  ) {}

  /**
   * Inserts deliveries, skipping pairs (message, endpoint) that already have one, and
   * returns the ones inserted. Fan-out that runs twice therefore creates nothing twice.
   */
  async insertMissing(deliveries: Delivery[], transaction: Transaction<Database>): Promise<Delivery[]> {
    if (deliveries.length === 0) {
      return [];
    }
    const inserted: Delivery[] = [];
    if (deliveries.length <= rowByRowLimit) {
      for (const delivery of deliveries) {
        const { rows } = await insertOne.execute(
          transaction,
          delivery.id,
          delivery.msgId,
          delivery.endpointId,
          delivery.appId,
          delivery.status,
          delivery.attemptCount,
          delivery.nextAttemptAt,
          delivery.createdAt,
          delivery.updatedAt,
        );
        if (rows.length > 0) {
          inserted.push(delivery);
        }
      }
      return inserted;
    }
    // SQLite limits bound parameters per statement, so large fan-outs go in chunks.
    for (let start = 0; start < deliveries.length; start += 500) {
      const chunk = deliveries.slice(start, start + 500);
      const rows = await transaction
        .insertInto('delivery')
        .values(
          chunk.map((delivery) => ({
            id: delivery.id,
            msg_id: delivery.msgId,
            endpoint_id: delivery.endpointId,
            app_id: delivery.appId,
            status: delivery.status,
            attempt_count: delivery.attemptCount,
            next_attempt_at: delivery.nextAttemptAt,
            created_at: delivery.createdAt,
            updated_at: delivery.updatedAt,
          })),
        )
        .onConflict((conflict) => conflict.columns(['msg_id', 'endpoint_id']).doNothing())
        .returningAll()
        .execute();
      inserted.push(...rows.map(toDelivery));
    }
    return inserted;
  }

  async findById(id: string): Promise<Delivery | undefined> {
    const [row] = (await selectById.execute(this.db, id)).rows;
    return row ? toDelivery(row) : undefined;
  }

  async find(msgId: string, endpointId: string): Promise<Delivery | undefined> {
    const row = await this.db
      .selectFrom('delivery')
      .selectAll()
      .where('msg_id', '=', msgId)
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirst();
    return row ? toDelivery(row) : undefined;
  }

  async listByMessage(msgId: string): Promise<Delivery[]> {
    const rows = await this.db.selectFrom('delivery').selectAll().where('msg_id', '=', msgId).orderBy('endpoint_id').execute();
    return rows.map(toDelivery);
  }

  /** Sets status and next attempt time, unless the delivery already succeeded. */
  async markStatus(
    id: string,
    status: DeliveryStatus,
    nextAttemptAt: number | null,
    now: number,
    db: Kysely<Database> = this.db,
  ): Promise<void> {
    const update = (executor: Kysely<Database>) => updateStatus.execute(executor, id, status, nextAttemptAt, now);
    if (db === this.db) {
      // Attempts claimed together mark their deliveries as sending together.
      await this.commits.run(update);
      return;
    }
    await update(db);
  }

  /** Counts an endpoint's deliveries by status, optionally created within a time range. */
  async countByStatus(endpointId: string, since?: number, until?: number): Promise<DeliveryCounts> {
    let query = this.db
      .selectFrom('delivery')
      .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('endpoint_id', '=', endpointId);
    if (since !== undefined) {
      query = query.where('created_at', '>=', since);
    }
    if (until !== undefined) {
      query = query.where('created_at', '<', until);
    }
    const rows = await query.groupBy('status').execute();
    const counts: DeliveryCounts = { success: 0, pending: 0, fail: 0, sending: 0 };
    for (const row of rows) {
      const key = (['success', 'pending', 'fail', 'sending'] as const)[row.status];
      if (key) {
        counts[key] = Number(row.count);
      }
    }
    return counts;
  }

  /** Failed deliveries of an endpoint whose message was created in [since, until). */
  async listFailedSince(endpointId: string, since: number, until: number | undefined): Promise<Delivery[]> {
    let query = this.db
      .selectFrom('delivery')
      .selectAll()
      .where('endpoint_id', '=', endpointId)
      .where('status', '=', 2)
      .where('created_at', '>=', since);
    if (until !== undefined) {
      query = query.where('created_at', '<', until);
    }
    const rows = await query.orderBy('id').execute();
    return rows.map(toDelivery);
  }

  /**
   * Lists an endpoint's deliveries newest message first, paged by message id, with optional
   * status and message filters.
   */
  async listByEndpoint(
    endpointId: string,
    request: { limit: number; iterator?: string | undefined; status?: number | undefined; before?: number | undefined; after?: number | undefined; msgIds?: SelectQueryBuilder<Database, 'message', { id: string }> | undefined },
  ): Promise<Delivery[]> {
    let query = this.db.selectFrom('delivery').selectAll().where('endpoint_id', '=', endpointId);
    if (request.iterator) {
      query = query.where('msg_id', '<', request.iterator);
    }
    if (request.status !== undefined) {
      query = query.where('status', '=', request.status);
    }
    if (request.before !== undefined) {
      query = query.where('created_at', '<', request.before);
    }
    if (request.after !== undefined) {
      query = query.where('created_at', '>', request.after);
    }
    if (request.msgIds) {
      query = query.where('msg_id', 'in', request.msgIds);
    }
    const rows = await query.orderBy('msg_id', 'desc').limit(request.limit + 1).execute();
    return rows.map(toDelivery);
  }

  /** Lists a message's deliveries by endpoint id, for paging. */
  async listByMessagePage(msgId: string, limit: number, iterator: string | undefined): Promise<Delivery[]> {
    let query = this.db.selectFrom('delivery').selectAll().where('msg_id', '=', msgId);
    if (iterator) {
      query = query.where('endpoint_id', '>', iterator);
    }
    const rows = await query.orderBy('endpoint_id', 'asc').limit(limit + 1).execute();
    return rows.map(toDelivery);
  }

  /**
   * Unfinished deliveries (pending or sending) whose next attempt was due before `dueBefore`,
   * oldest first, after the `after` position: the ones whose queue job may have been lost.
   */
  async listOverdue(
    dueBefore: number,
    limit: number,
    after?: { nextAttemptAt: number; id: string },
  ): Promise<{ id: string; nextAttemptAt: number }[]> {
    let query = this.db
      .selectFrom('delivery')
      .select(['id', 'next_attempt_at'])
      .where('status', 'in', [1, 3])
      .where('next_attempt_at', '<', dueBefore);
    if (after !== undefined) {
      query = query.where((eb) =>
        eb.or([
          eb('next_attempt_at', '>', after.nextAttemptAt),
          eb.and([eb('next_attempt_at', '=', after.nextAttemptAt), eb('id', '>', after.id)]),
        ]),
      );
    }
    const rows = await query.orderBy('next_attempt_at').orderBy('id').limit(limit).execute();
    return rows.map((row) => ({ id: row.id, nextAttemptAt: Number(row.next_attempt_at) }));
  }
}
