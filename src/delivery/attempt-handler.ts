import type { Logger } from '../observability/logger.js';
import type { JobHandler } from '../queue/contract.js';
import type { DeliveryJob } from '../queue/jobs.js';
import { signatureHeader } from '../signing/signature.js';
import { createId } from '../store/ids.js';
import { toAttemptRow } from '../store/repositories/attempts.js';
import { DeliveryStatus, TriggerType, type Attempt, type Delivery, type Endpoint, type Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import { nextRetryDelay } from './retry-schedule.js';

/** Part of the HTTP client that the attempt handler calls. */
export interface WebhookSender {
  send(request: { url: string; headers: Record<string, string>; body: Buffer; signal?: AbortSignal }): Promise<SendOutcome>;
}

export type SendOutcome =
  | { kind: 'response'; statusCode: number; body: string; durationMs: number }
  | { kind: 'error'; reason: string; message: string; durationMs: number };

export interface AttemptHandlerOptions {
  store: Store;
  sender: WebhookSender;
  logger: Logger;
  /** Delay before each retry, in milliseconds. */
  retrySchedule: readonly number[];
  userAgent: string;
  clock: () => number;
}

/** State in which a finished attempt leaves its delivery. */
interface AttemptDecision {
  status: DeliveryStatus;
  nextAttemptAt: number | null;
}

/**
 * Creates the handler of the `webhooks` queue. Each job makes one attempt of one delivery:
 * sign the stored payload, POST it, record the attempt, then finish the delivery or keep
 * its job for the next attempt of the retry schedule.
 */
export function createAttemptHandler(options: AttemptHandlerOptions): JobHandler<DeliveryJob> {
  const { store, logger, clock } = options;

  return async (job, signal) => {
    const delivery = await store.deliveries.findById(job.data.deliveryId);
    if (!delivery) {
      logger.debug({ deliveryId: job.data.deliveryId }, 'Attempt skipped: the delivery no longer exists');
      return;
    }

    const manual = job.data.trigger === TriggerType.manual;
    if (!manual && delivery.status === DeliveryStatus.success) {
      return;
    }
    if (!manual && delivery.status === DeliveryStatus.fail) {
      return;
    }

    const [message, endpoint] = await Promise.all([
      store.messages.findById(delivery.msgId),
      store.endpoints.findById(delivery.endpointId),
    ]);
    const ids = { appId: delivery.appId, endpointId: delivery.endpointId, msgId: delivery.msgId, deliveryId: delivery.id };
    if (!message || !endpoint) {
      logger.info(ids, 'Attempt skipped: the message or the endpoint was deleted');
      await store.deliveries.markStatus(delivery.id, DeliveryStatus.fail, null, clock());
      return;
    }
    if (endpoint.disabled && !manual) {
      logger.info(ids, 'Attempt skipped: the endpoint is disabled');
      await store.deliveries.markStatus(delivery.id, DeliveryStatus.fail, null, clock());
      return;
    }

    await store.deliveries.markStatus(delivery.id, DeliveryStatus.sending, delivery.nextAttemptAt, clock());
    const attempt = await sendAttempt(options, delivery, message, endpoint, manual ? TriggerType.manual : TriggerType.scheduled, signal);
    const decision = decide(options, delivery, attempt);
    await recordAttempt(store, delivery, attempt, decision);

    logger.info(
      {
        ...ids,
        attemptId: attempt.id,
        host: safeHost(endpoint.url),
        status: attempt.responseStatusCode,
        durationMs: attempt.responseDurationMs,
        attempt: delivery.attemptCount + 1,
        outcome: attempt.status === DeliveryStatus.success ? 'success' : 'fail',
        error: attempt.error ?? undefined,
        nextAttemptAt: decision.nextAttemptAt === null ? undefined : new Date(decision.nextAttemptAt).toISOString(),
      },
      'Attempt finished',
    );

    return decision.nextAttemptAt === null ? undefined : { retryAt: decision.nextAttemptAt };
  };
}

async function sendAttempt(
  options: AttemptHandlerOptions,
  delivery: Delivery,
  message: Message,
  endpoint: Endpoint,
  triggerType: TriggerType,
  signal: AbortSignal,
): Promise<Attempt> {
  const now = options.clock();
  const timestamp = Math.floor(now / 1000);
  const secrets = await options.store.endpoints.activeSecrets(endpoint.id, now);
  const headers: Record<string, string> = {
    ...endpoint.headers,
    'content-type': 'application/json',
    'user-agent': options.userAgent,
    'webhook-id': message.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(
      secrets.map((secret) => secret.secret),
      message.id,
      timestamp,
      message.payload,
    ),
  };

  const outcome = await options.sender.send({ url: endpoint.url, headers, body: message.payload, signal });
  const succeeded = outcome.kind === 'response' && outcome.statusCode >= 200 && outcome.statusCode < 300;
  return {
    id: createId('atmpt', now),
    deliveryId: delivery.id,
    msgId: message.id,
    endpointId: endpoint.id,
    appId: message.appId,
    url: endpoint.url,
    status: succeeded ? DeliveryStatus.success : DeliveryStatus.fail,
    responseStatusCode: outcome.kind === 'response' ? outcome.statusCode : 0,
    response: outcome.kind === 'response' ? outcome.body : outcome.message,
    responseDurationMs: Math.round(outcome.durationMs),
    triggerType,
    error: outcome.kind === 'error' ? outcome.reason : null,
    requestHeaders: headers,
    createdAt: now,
  };
}

function decide(options: AttemptHandlerOptions, delivery: Delivery, attempt: Attempt): AttemptDecision {
  if (attempt.status === DeliveryStatus.success) {
    return { status: DeliveryStatus.success, nextAttemptAt: null };
  }
  const delay = nextRetryDelay(options.retrySchedule, delivery.attemptCount + 1);
  if (delay === undefined) {
    return { status: DeliveryStatus.fail, nextAttemptAt: null };
  }
  return { status: DeliveryStatus.pending, nextAttemptAt: options.clock() + delay };
}

/**
 * Writes the attempt and the delivery's new state in one transaction, which attempts that
 * finish in the same turn of the event loop share.
 */
async function recordAttempt(store: Store, delivery: Delivery, attempt: Attempt, decision: AttemptDecision): Promise<void> {
  await store.groupCommit.run(async (transaction) => {
    await transaction.insertInto('attempt').values(toAttemptRow(attempt)).execute();
    await transaction
      .updateTable('delivery')
      .set((eb) => ({
        status: decision.status,
        next_attempt_at: decision.nextAttemptAt,
        attempt_count: eb('attempt_count', '+', 1),
        updated_at: attempt.createdAt,
      }))
      .where('id', '=', delivery.id)
      .execute();
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}
