/** Operational webhooks: events about Hookline itself, with Svix's names. */
export type OperationalEventType =
  | 'endpoint.disabled'
  | 'message.attempt.exhausted'
  | 'message.attempt.failing'
  | 'message.attempt.recovered';

export const operationalEventTypes: readonly OperationalEventType[] = [
  'endpoint.disabled',
  'message.attempt.exhausted',
  'message.attempt.failing',
  'message.attempt.recovered',
];

/** Data of `endpoint.disabled`, as Svix's EndpointDisabledEventData. */
export interface EndpointDisabledData {
  appId: string;
  appUid: string | null;
  endpointId: string;
  endpointUid: string | null;
  /** ISO time of the first failure of the streak, or of the 410 response. */
  failSince: string;
  trigger: 'automatic';
}

/** Data of the `message.attempt.*` events, as Svix's MessageAttemptExhaustedEventData. */
export interface MessageAttemptData {
  appId: string;
  appUid: string | null;
  endpointId: string;
  msgId: string;
  msgEventId: string | null;
  lastAttempt: { id: string; timestamp: string; responseStatusCode: number };
}

/**
 * Destination of the attempt handler's operational webhooks. The implementation stores them
 * as messages of Hookline's own application, so they go through fan-out, signing,
 * retries and the attempt log like every other webhook.
 */
export interface OperationalEventSink {
  /** Returns whether an application carries operational webhooks. Failures of its deliveries raise no further events. */
  isOperationalApplication(appId: string): Promise<boolean>;
  send(type: 'endpoint.disabled', data: EndpointDisabledData): Promise<void>;
  send(type: Exclude<OperationalEventType, 'endpoint.disabled'>, data: MessageAttemptData): Promise<void>;
}
