import type { AttemptFinishedEvent, AttemptObserver } from '../observability/attempt-events.js';
import type { Logger } from '../observability/logger.js';
import type { JobHandler } from '../queue/contract.js';
import { isAttemptRecords, type DeliveryJob } from '../queue/jobs.js';
import { signatureHeader } from '../signing/signature.js';
import { createId } from '../store/ids.js';
import { toAttemptRow } from '../store/repositories/attempts.js';
import { DeliveryStatus, TriggerType, type Attempt, type Delivery, type Endpoint, type Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import { decideAttempt, type AttemptDecision } from './attempt-decision.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { EndpointHealthTracker } from './endpoint-health.js';
import type { EndpointPacing } from './endpoint-pacing.js';

/** Part of the HTTP client that the attempt handler calls. */
export interface WebhookSender {
  send(request: { url: string; headers: Record<string, string>; body: Buffer; signal?: AbortSignal }): Promise<SendOutcome>;
}

export type SendOutcome =
  | { kind: 'response'; statusCode: number; headers?: Record<string, string>; body: string; durationMs: number }
  | { kind: 'error'; reason: string; message: string; durationMs: number };

export interface AttemptHandlerOptions {
  store: Store;
  sender: WebhookSender;
  logger: Logger;
  /** Delay before each retry, in milliseconds. */
  retrySchedule: readonly number[];
  userAgent: string;
  clock: () => number;
  /** Longest Retry-After honoured, in milliseconds. */
  maxRetryAfterMs: number;
  breaker: CircuitBreaker;
  pacing: EndpointPacing;
  health: EndpointHealthTracker;
  /** Told about every attempt once it is recorded: metrics, statistics. */
  observers?: readonly AttemptObserver[];
}

/** Shortest delay before a job postponed by the in-flight cap looks again, in milliseconds. */
const IN_FLIGHT_RETRY_MS = 100;

/**
 * Creates the handler of the `webhooks` queue. Each job makes one attempt of one delivery:
 * sign the stored payload, POST it, record the attempt, then finish the delivery or keep
 * its job for the next attempt of the retry schedule.
 */
export function createAttemptHandler(options: AttemptHandlerOptions): JobHandler<DeliveryJob> {
  const { store, logger, clock } = options;

  return async (job, signal) => {
    // A first attempt started right after its delivery was committed in this process comes
    // with the records it needs, as they were in that transaction.
    const records = isAttemptRecords(job.local, job.data.deliveryId) ? job.local : undefined;
    const delivery = records?.delivery ?? (await store.deliveries.findById(job.data.deliveryId));
    if (!delivery) {
      logger.debug({ deliveryId: job.data.deliveryId }, 'Attempt skipped: the delivery no longer exists');
      return;
    }

    // A resend or recover requests one manual attempt, and the retries after it are scheduled.
    const manual = job.data.trigger === TriggerType.manual && delivery.attemptCount === 0;
    if (!manual && delivery.status === DeliveryStatus.success) {
      return;
    }
    if (!manual && delivery.status === DeliveryStatus.fail) {
      return;
    }

    const [message, endpoint] = records
      ? [records.message, records.endpoint]
      : await Promise.all([store.messages.findById(delivery.msgId), store.endpoints.findById(delivery.endpointId)]);
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

    const postponeTo = await checkPace(options, endpoint, manual);
    if (postponeTo !== undefined) {
      return postpone(options, delivery, postponeTo.at, postponeTo.reason, ids);
    }
    if (!options.pacing.tryEnter(endpoint.id)) {
      logger.debug(ids, 'Attempt postponed: the endpoint times out and has as many attempts in flight as allowed');
      return { retryAt: clock() + options.pacing.inFlightDelay(endpoint.id, IN_FLIGHT_RETRY_MS) };
    }

    try {
      const admission = await options.breaker.admit(endpoint.id);
      if (admission.kind === 'open') {
        return await postpone(options, delivery, admission.retryAt, 'the circuit breaker is open', ids);
      }

      await store.deliveries.markStatus(delivery.id, DeliveryStatus.sending, delivery.nextAttemptAt, clock());
      const triggerType = manual ? TriggerType.manual : TriggerType.scheduled;
      const { attempt, outcome } = await sendAttempt(options, delivery, message, endpoint, triggerType, signal);
      const decision = decideAttempt(outcome, {
        retrySchedule: options.retrySchedule,
        maxRetryAfterMs: options.maxRetryAfterMs,
        now: clock(),
        attemptsMade: delivery.attemptCount + 1,
      });
      await recordAttempt(store, delivery, attempt, decision);
      options.pacing.recordResult(endpoint.id, outcome.kind === 'error' && outcome.reason === 'timeout');

      logger.info(
        {
          ...ids,
          attemptId: attempt.id,
          host: safeHost(endpoint.url),
          status: attempt.responseStatusCode,
          durationMs: attempt.responseDurationMs,
          attempt: delivery.attemptCount + 1,
          outcome: attempt.status === DeliveryStatus.success ? 'success' : 'fail',
          verdict: decision.verdict,
          probe: admission.kind === 'probe' ? true : undefined,
          error: attempt.error ?? undefined,
          nextAttemptAt: decision.nextAttemptAt === null ? undefined : new Date(decision.nextAttemptAt).toISOString(),
        },
        'Attempt finished',
      );

      // The attempt is recorded, so a fault from here on must not fail the job: the queue
      // would run it again and send the webhook twice.
      try {
        await options.health.attemptFinished(
          { delivery, message, endpoint, attempt, decision, probe: admission.kind === 'probe' },
          clock(),
        );
      } catch (error) {
        logger.error({ ...ids, attemptId: attempt.id, err: error }, 'Failed to update the endpoint health after an attempt');
      }
      await notifyObservers(options, logger, {
        ...ids,
        attemptId: attempt.id,
        eventType: message.eventType,
        statusCode: attempt.responseStatusCode,
        durationMs: attempt.responseDurationMs,
        outcome: attempt.status === DeliveryStatus.success ? 'success' : 'fail',
        attemptNumber: delivery.attemptCount + 1,
        nextAttemptAt: decision.nextAttemptAt,
        acceptedAt: message.createdAt,
        startedAt: attempt.createdAt,
        manual: attempt.triggerType === TriggerType.manual,
      });

      return decision.nextAttemptAt === null ? undefined : { retryAt: decision.nextAttemptAt };
    } finally {
      options.pacing.leave(endpoint.id);
    }
  };
}

/**
 * Checks the endpoint's slow-down and rate limit. Returns when and why to postpone the
 * attempt, or undefined when it may go now. Attempts a person asked for are not held
 * back by a slow-down, but they count against the rate limit like every other.
 */
async function checkPace(
  options: AttemptHandlerOptions,
  endpoint: Endpoint,
  manual: boolean,
): Promise<{ at: number; reason: string } | undefined> {
  if (!manual) {
    const slowedUntil = await options.pacing.slowedUntil(endpoint.id);
    if (slowedUntil !== undefined) {
      return { at: slowedUntil + Math.floor(Math.random() * 1_000), reason: 'the endpoint asked to slow down' };
    }
  }
  if (endpoint.throttleRate !== null && endpoint.throttleRate > 0) {
    const waitMs = await options.pacing.takeToken(endpoint.id, endpoint.throttleRate);
    if (waitMs > 0) {
      return { at: options.clock() + waitMs, reason: 'the endpoint is at its rate limit' };
    }
  }
  return undefined;
}

/**
 * Hands a delivery back to the queue for `retryAt` without spending an attempt. The
 * delivery's next attempt time is updated, so the API shows when it will go.
 */
async function postpone(
  options: AttemptHandlerOptions,
  delivery: Delivery,
  retryAt: number,
  reason: string,
  ids: Record<string, string>,
): Promise<{ retryAt: number }> {
  options.logger.debug({ ...ids, retryAt: new Date(retryAt).toISOString() }, `Attempt postponed: ${reason}`);
  await options.store.deliveries.markStatus(delivery.id, DeliveryStatus.pending, retryAt, options.clock());
  return { retryAt };
}

async function sendAttempt(
  options: AttemptHandlerOptions,
  delivery: Delivery,
  message: Message,
  endpoint: Endpoint,
  triggerType: TriggerType,
  signal: AbortSignal,
): Promise<{ attempt: Attempt; outcome: SendOutcome }> {
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
  const attempt: Attempt = {
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
  return { attempt, outcome };
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

/**
 * Tells each observer about a recorded attempt. The attempt is committed, so a fault here
 * must not fail the job: the queue would run it again and send the webhook twice.
 */
async function notifyObservers(options: AttemptHandlerOptions, logger: Logger, event: AttemptFinishedEvent): Promise<void> {
  for (const observer of options.observers ?? []) {
    try {
      await observer.attemptFinished(event);
    } catch (error) {
      logger.error({ appId: event.appId, endpointId: event.endpointId, msgId: event.msgId, attemptId: event.attemptId, err: error }, 'An attempt observer failed');
    }
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}
