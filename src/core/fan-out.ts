import type { Logger } from '../observability/logger.js';
import { currentTraceCarrier } from '../observability/tracing.js';
import type { JobHandler, Queue } from '../queue/contract.js';
import type { DeliveryJob, FanOutJob } from '../queue/jobs.js';
import { createId } from '../store/ids.js';
import { DeliveryStatus, type Delivery, type Endpoint, type Message } from '../store/records.js';
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
    const deliveries: Delivery[] = endpoints
      .filter((endpoint) => endpointMatches(endpoint, message))
      .map((endpoint) => newDelivery(message, endpoint.id, now));

    const trace = currentTraceCarrier();
    const traceField = trace === undefined ? {} : { trace };
    await store.groupCommit.run(async (transaction) => {
      const inserted = await store.deliveries.insertMissing(deliveries, transaction);
      await queue.addInTransaction<DeliveryJob>(
        transaction,
        'webhooks',
        inserted.map((delivery) => ({ id: delivery.id, data: { deliveryId: delivery.id, trigger: 0, ...traceField }, runAt: now })),
      );
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
