/** A delivery attempt that was recorded in the store, as the attempt handler reports it to its observers. */
export interface AttemptFinishedEvent {
  appId: string;
  endpointId: string;
  msgId: string;
  deliveryId: string;
  attemptId: string;
  eventType: string;
  /** HTTP status of the response, or 0 when none arrived. */
  statusCode: number;
  durationMs: number;
  outcome: 'success' | 'fail';
  /** 1 for the first attempt of the delivery. */
  attemptNumber: number;
  /** When the next attempt is scheduled, or null when the delivery is finished. */
  nextAttemptAt: number | null;
  /** When the message was accepted, in milliseconds since the epoch. */
  acceptedAt: number;
  /** When the attempt started, in milliseconds since the epoch. */
  startedAt: number;
  /** True for an attempt that a person asked for (resend, recover). */
  manual: boolean;
}

/**
 * Receives every recorded attempt. The attempt handler calls observers after the attempt
 * is committed, so an observer that throws never fails the job: the handler logs the error.
 */
export interface AttemptObserver {
  attemptFinished(event: AttemptFinishedEvent): void | Promise<void>;
}
