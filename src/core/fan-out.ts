import type { Transaction } from 'kysely';
import type { Logger } from '../observability/logger.js';
import { currentTraceCarrier, type TraceCarrier } from '../observability/tracing.js';
import type { JobHandler, Queue } from '../queue/contract.js';
import type { AttemptRecords, DeliveryJob, FanOutJob } from '../queue/jobs.js';
import { createId } from '../store/ids.js';
import { DeliveryStatus, type Delivery, type Endpoint, type Message } from '../store/records.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';

/** Tells whether an endpoint subscribed to a message, by event type filter and channels. */
export function endpointMatches(endpoint: Endpoint, message: Message): boolean {
  if (endpoint.disabled) {
    return false;
  }
  if (endpoint.eventTypes !== null && !endpoint.eventTypes.includes(message.eventType)) {
    return false;
  }
  if (endpoint.channels !== null) {
    const channels = message.channels ?? [];
    return channels.some((channel) => endpoint.channels?.includes(channel));
  }
  return true;
}

/** Creates the record of a delivery that is due now and has had no attempt. */
export function newDelivery(message: Message, endpointId: string, now: number): Delivery {
  return {
    id: createId('dlv', now),
    msgId: message.id,
    endpointId,
    appId: message.appId,
    status: DeliveryStatus.pending,
    attemptCount: 0,
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

/** The message and its subscribed endpoints by id, which the first attempts start with. */
export interface FanOutRecords {
  message: Message;
  endpoints: ReadonlyMap<string, Endpoint>;
}

/** Creates one due delivery per enabled endpoint that subscribed to the message. */
export function planDeliveries(message: Message, endpoints: readonly Endpoint[], now: number): { deliveries: Delivery[]; records: FanOutRecords } {
  const subscribed = endpoints.filter((endpoint) => endpointMatches(endpoint, message));
  return {
    deliveries: subscribed.map((endpoint) => newDelivery(message, endpoint.id, now)),
    records: { message, endpoints: new Map(subscribed.map((endpoint) => [endpoint.id, endpoint])) },
  };
}

/**
 * Writes deliveries that are due now, each with its job on the `webhooks` queue, through
 * `transaction`. Pairs (message, endpoint) that already have a delivery are skipped, so
 * writing the same fan-out twice creates nothing twice. `trace` is the trace context that
 * the attempts continue. `records`, the message and its endpoints by id, go with the jobs
 * to an attempt handler of this process, which then need not read them again. Returns the
 * deliveries written.
 */
export async function writeDeliveries(
  store: Store,
  queue: Queue,
  transaction: Transaction<Database>,
  deliveries: Delivery[],
  now: number,
  trace: TraceCarrier | undefined,
  records?: FanOutRecords,
): Promise<Delivery[]> {
  const inserted = await store.deliveries.insertMissing(deliveries, transaction);
  const traceField = trace === undefined ? {} : { trace };
  await queue.addInTransaction<DeliveryJob>(
    transaction,
    'webhooks',
    inserted.map((delivery) => {
      const endpoint = records?.endpoints.get(delivery.endpointId);
      const local: AttemptRecords | undefined = records && endpoint ? { delivery, message: records.message, endpoint } : undefined;
      return { id: delivery.id, data: { deliveryId: delivery.id, trigger: 0, ...traceField }, runAt: now, ...(local ? { local } : {}) };
    }),
  );
  return inserted;
}

/**
 * Creates the handler of the `events` queue: one delivery per subscribed, enabled endpoint,
 * each with a job on the `webhooks` queue, written in one transaction. The messages that
 * the queue hands over together share that transaction. Running it twice for the same
 * message creates nothing twice.
 */
export function createFanOutHandler(store: Store, queue: Queue, clock: Clock, logger: Logger): JobHandler<FanOutJob> {
  return async (job) => {
    const message = await store.messages.findById(job.data.msgId);
    if (!message) {
      logger.warn({ msgId: job.data.msgId }, 'Fan-out skipped: the message no longer exists');
      return;
    }

    const endpoints = await store.endpoints.listEnabled(message.appId);
    const now = clock();
    const { deliveries, records } = planDeliveries(message, endpoints, now);

    const trace = currentTraceCarrier();
    await store.groupCommit.run(async (transaction) => {
      await writeDeliveries(store, queue, transaction, deliveries, now, trace, records);
      await store.messages.markFannedOut(message.id, transaction);
    });
    if (deliveries.length > 0) {
      queue.notify('webhooks');
    }

    logger.debug(
      { appId: message.appId, msgId: message.id, endpoints: endpoints.length, deliveries: deliveries.length },
      'Message fanned out',
    );
  };
}
