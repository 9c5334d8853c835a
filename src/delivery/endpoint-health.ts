import type { Logger } from '../observability/logger.js';
import type { Attempt, Delivery, Endpoint, Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { AttemptDecision } from './attempt-decision.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { EndpointPacing } from './endpoint-pacing.js';
import type { MessageAttemptData, OperationalEventSink } from './operational-events.js';

export interface EndpointHealthOptions {
  store: Store;
  breaker: CircuitBreaker;
  pacing: EndpointPacing;
  logger: Logger;
  /** Failing without a success for this long, in milliseconds, disables an endpoint. */
  disableAfterMs: number;
  operationalEvents?: OperationalEventSink | undefined;
}

/**
 * Failed attempts of one delivery after which `message.attempt.failing` is sent, as Svix
 * does on the fourth failure.
 */
export const FAILING_AFTER_ATTEMPTS = 4;

/** The recorded attempt with what the handler knew when it made it. */
export interface FinishedAttempt {
  delivery: Delivery;
  message: Message;
  endpoint: Endpoint;
  attempt: Attempt;
  decision: AttemptDecision;
  /** Whether this attempt was the breaker's probe. */
  probe: boolean;
}

/**
 * Applies an attempt's result to its endpoint: the circuit breaker, the failure streak
 * that disables an endpoint after HOOKLINE_DISABLE_AFTER, the slow-down of a 429 or 5xx,
 * disabling on 410, and the operational webhooks about all of these.
 */
export class EndpointHealthTracker {
  /** Endpoints whose stored failure streak this process cleared, with no failure seen since. */
  private readonly streakCleared = new Set<string>();

  constructor(private readonly options: EndpointHealthOptions) {}

  private rememberCleared(endpointId: string): void {
    // Bounded, because deleted endpoints are never removed. Forgetting one costs one more
    // clearing statement at its next success.
    if (this.streakCleared.size >= 100_000) {
      this.streakCleared.clear();
    }
    this.streakCleared.add(endpointId);
  }

  async attemptFinished(finished: FinishedAttempt, now: number): Promise<void> {
    const { decision, endpoint } = finished;
    const ids = idsOf(finished);
    switch (decision.verdict) {
      case 'success':
        await this.succeeded(finished, ids);
        return;
      case 'rejected':
        // The request never left Hookline, so it is no evidence of the endpoint's health.
        return;
      case 'gone':
        await this.options.breaker.recordFailure(endpoint.id, finished.probe, ids);
        await this.disable(finished, now, now, 'gone');
        return;
      case 'slow-down':
      case 'failure':
        if (decision.slowUntil !== undefined) {
          await this.options.pacing.slowDown(endpoint.id, decision.slowUntil);
          this.options.logger.info({ ...ids, slowUntil: new Date(decision.slowUntil).toISOString() }, 'Endpoint asked to slow down');
        }
        await this.failed(finished, now, ids);
        return;
    }
  }

  private async succeeded(finished: FinishedAttempt, ids: Record<string, string>): Promise<void> {
    const { breaker, store } = this.options;
    const endedFailures = await breaker.recordSuccess(finished.endpoint.id, ids);
    // The breaker's count of failures starts at zero again after this process or Redis
    // restarts, so it cannot tell alone whether a stored streak ends here. The first success
    // of an endpoint in this process therefore clears the stored streak too.
    // NOTE: with several workers, a success after Redis lost its data clears the stored
    // streak only in a worker that has not cleared it before, so the streak can outlast it.
    if (endedFailures > 0 || !this.streakCleared.has(finished.endpoint.id)) {
      await store.endpointHealth.recordSuccess(finished.endpoint.id);
      this.rememberCleared(finished.endpoint.id);
    }

    // A first attempt that succeeds cannot follow a `failing` event, so only retried and
    // resent deliveries look up their earlier failures.
    if (finished.delivery.attemptCount === 0 && finished.attempt.triggerType === 0) {
      return;
    }
    const failures = await this.countFailuresSinceSuccess(finished.delivery.id, finished.attempt.id);
    if (failures >= FAILING_AFTER_ATTEMPTS) {
      await this.emitAttemptEvent('message.attempt.recovered', finished);
    }
  }

  private async failed(finished: FinishedAttempt, now: number, ids: Record<string, string>): Promise<void> {
    const { breaker, store, disableAfterMs } = this.options;
    await breaker.recordFailure(finished.endpoint.id, finished.probe, ids);
    this.streakCleared.delete(finished.endpoint.id);
    // The stored streak ends only with a recorded success, so it outlives restarts of this
    // process and of Redis, which both reset the breaker's count.
    const failingSince = await store.endpointHealth.recordFailure(finished.endpoint.id, finished.attempt.createdAt);

    const attemptsMade = finished.delivery.attemptCount + 1;
    if (attemptsMade === FAILING_AFTER_ATTEMPTS) {
      await this.emitAttemptEvent('message.attempt.failing', finished);
    }
    if (finished.decision.exhausted) {
      await this.emitAttemptEvent('message.attempt.exhausted', finished);
    }
    if (now - failingSince >= disableAfterMs) {
      await this.disable(finished, now, failingSince, 'failing');
    }
  }

  private async disable(finished: FinishedAttempt, now: number, failingSince: number, reason: 'gone' | 'failing'): Promise<void> {
    const { store, logger } = this.options;
    const { endpoint } = finished;
    const disabled = await store.endpointHealth.disable(endpoint.id, now, reason);
    if (!disabled) {
      return;
    }

    const because = reason === 'gone' ? 'it answered 410 Gone' : `it has failed since ${new Date(failingSince).toISOString()}`;
    logger.warn({ ...idsOf(finished), reason }, `Endpoint disabled: ${because}`);
    await this.emit(finished.message.appId, async (sink, appUid) => {
      await sink.send('endpoint.disabled', {
        appId: endpoint.appId,
        appUid,
        endpointId: endpoint.id,
        endpointUid: endpoint.uid,
        failSince: new Date(failingSince).toISOString(),
        trigger: 'automatic',
      });
    });
  }

  private async emitAttemptEvent(
    type: 'message.attempt.failing' | 'message.attempt.exhausted' | 'message.attempt.recovered',
    finished: FinishedAttempt,
  ): Promise<void> {
    const { message, endpoint, attempt } = finished;
    await this.emit(message.appId, async (sink, appUid) => {
      const data: MessageAttemptData = {
        appId: message.appId,
        appUid,
        endpointId: endpoint.id,
        msgId: message.id,
        msgEventId: message.eventId,
        lastAttempt: {
          id: attempt.id,
          timestamp: new Date(attempt.createdAt).toISOString(),
          responseStatusCode: attempt.responseStatusCode,
        },
      };
      await sink.send(type, data);
    });
  }

  // Operational webhooks about the operational application's own deliveries would feed
  // on themselves, so that application raises none. A webhook that cannot be stored is
  // logged and dropped, so the breaker and the disabling still take their course.
  private async emit(appId: string, send: (sink: OperationalEventSink, appUid: string | null) => Promise<void>): Promise<void> {
    const sink = this.options.operationalEvents;
    if (!sink) {
      return;
    }
    try {
      if (await sink.isOperationalApplication(appId)) {
        return;
      }
      const application = await this.options.store.applications.findByIdOrUid(appId);
      await send(sink, application?.uid ?? null);
    } catch (error) {
      this.options.logger.error({ appId, err: error }, 'Failed to store an operational webhook');
    }
  }

  /** Counts the delivery's failed attempts since its last successful one before `currentAttemptId`. */
  private async countFailuresSinceSuccess(deliveryId: string, currentAttemptId: string): Promise<number> {
    const { db } = this.options.store;
    const lastSuccess = await db
      .selectFrom('attempt')
      .select((eb) => eb.fn.max('id').as('id'))
      .where('delivery_id', '=', deliveryId)
      .where('status', '=', 0)
      .where('id', '<>', currentAttemptId)
      .executeTakeFirst();
    let query = db
      .selectFrom('attempt')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('delivery_id', '=', deliveryId)
      .where('status', '=', 2);
    if (lastSuccess?.id) {
      query = query.where('id', '>', lastSuccess.id);
    }
    const row = await query.executeTakeFirst();
    return Number(row?.count ?? 0);
  }
}

function idsOf(finished: FinishedAttempt): Record<string, string> {
  return {
    appId: finished.delivery.appId,
    endpointId: finished.delivery.endpointId,
    msgId: finished.delivery.msgId,
    deliveryId: finished.delivery.id,
    attemptId: finished.attempt.id,
  };
}
