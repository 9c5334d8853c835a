import type { Delivery, Endpoint, Message } from '../store/records.js';

/** Data of a job on the `events` queue: fan a stored message out to its endpoints. */
export interface FanOutJob {
  msgId: string;
  /** W3C trace context of the request that stored the message, present only while tracing is on. */
  trace?: Record<string, string>;
}

/** Data of a job on the `webhooks` queue: make the next attempt of one delivery. */
export interface DeliveryJob {
  deliveryId: string;
  /** 1 when a person asked for this attempt (resend, recover); 0 when the schedule did. */
  trigger: 0 | 1;
  /** W3C trace context of the fan-out or request that created the job, present only while tracing is on. */
  trace?: Record<string, string>;
}

/**
 * The records an attempt reads before it sends: the delivery, its message and its endpoint. The
 * code that creates a delivery in this process passes them along with the job, so a first
 * attempt that starts right after the commit reads only the signing secrets.
 */
export interface AttemptRecords {
  delivery: Delivery;
  message: Message;
  endpoint: Endpoint;
}

/** Tells whether a job's `local` value is the records of the delivery `deliveryId`. */
export function isAttemptRecords(local: unknown, deliveryId: string): local is AttemptRecords {
  if (typeof local !== 'object' || local === null) {
    return false;
  }
  const records = local as Partial<AttemptRecords>;
  return records.delivery?.id === deliveryId && records.message !== undefined && records.endpoint !== undefined;
}
