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
