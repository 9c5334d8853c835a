import { DeliveryStatus } from '../store/records.js';
import { parseRetryAfter } from './retry-after.js';
import { nextRetryDelay } from './retry-schedule.js';

/** Meaning of an attempt's result for the endpoint. */
export type AttemptVerdict =
  /** 2xx: the delivery succeeded. */
  | 'success'
  /** Any other failure: counts toward the circuit breaker and the failure streak. */
  | 'failure'
  /** 429, 502, 503 or 504: a failure that also slows the endpoint down. */
  | 'slow-down'
  /** 410 Gone: the endpoint asked to be removed, so it is disabled. */
  | 'gone'
  /** The request never left: blocked address or invalid URL. Retrying cannot help. */
  | 'rejected';

/** State in which a finished attempt leaves its delivery, and what it means for the endpoint. */
export interface AttemptDecision {
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  verdict: AttemptVerdict;
  /** For `slow-down`: until when every delivery to the endpoint is held back. */
  slowUntil?: number;
  /** True when the retry schedule ran out with this failure (the dead letter state). */
  exhausted: boolean;
}

/** The result of a send as the decision needs it. */
export type DecisionInput =
  | { kind: 'response'; statusCode: number; headers?: Readonly<Record<string, string>> }
  | { kind: 'error'; reason: string };

export interface DecisionOptions {
  /** Delay before each retry, in milliseconds. */
  retrySchedule: readonly number[];
  /** Longest Retry-After honoured, in milliseconds. */
  maxRetryAfterMs: number;
  now: number;
  /** Attempts made of this delivery, counting this one. */
  attemptsMade: number;
  random?: () => number;
}

const slowDownStatuses = new Set([429, 502, 503, 504]);
const rejectedReasons = new Set(['blocked', 'invalid_url']);

/** Classifies a send result by the delivery rules. */
export function verdictOf(result: DecisionInput): AttemptVerdict {
  if (result.kind === 'error') {
    return rejectedReasons.has(result.reason) ? 'rejected' : 'failure';
  }
  if (result.statusCode >= 200 && result.statusCode < 300) {
    return 'success';
  }
  if (result.statusCode === 410) {
    return 'gone';
  }
  return slowDownStatuses.has(result.statusCode) ? 'slow-down' : 'failure';
}

/**
 * Decides what happens to a delivery after an attempt. A success finishes it. A 410 or a
 * request that could not be sent (blocked address, invalid URL) fails it at once,
 * because retrying cannot help. Other failures wait for the next delay of the retry
 * schedule, or fail the delivery when the schedule has run out. A 429, 502, 503 or 504
 * waits at least as long as its `Retry-After` header requests (clamped to `maxRetryAfterMs`),
 * and slows the endpoint down until then, or for the first delay of the schedule when
 * the header is missing.
 */
export function decideAttempt(result: DecisionInput, options: DecisionOptions): AttemptDecision {
  const verdict = verdictOf(result);
  if (verdict === 'success') {
    return { status: DeliveryStatus.success, nextAttemptAt: null, verdict, exhausted: false };
  }
  if (verdict === 'gone' || verdict === 'rejected') {
    return { status: DeliveryStatus.fail, nextAttemptAt: null, verdict, exhausted: false };
  }

  const delay = nextRetryDelay(options.retrySchedule, options.attemptsMade, options.random);
  let retryAfter: number | undefined;
  let slowUntil: number | undefined;
  if (verdict === 'slow-down' && result.kind === 'response') {
    retryAfter = parseRetryAfter(result.headers?.['retry-after'], { now: options.now, maxDelayMs: options.maxRetryAfterMs });
    slowUntil = options.now + (retryAfter ?? options.retrySchedule[0] ?? 0);
  }

  const base = { verdict, ...(slowUntil === undefined ? {} : { slowUntil }) };
  if (delay === undefined) {
    return { ...base, status: DeliveryStatus.fail, nextAttemptAt: null, exhausted: true };
  }
  return {
    ...base,
    status: DeliveryStatus.pending,
    nextAttemptAt: options.now + Math.max(delay, retryAfter ?? 0),
    exhausted: false,
  };
}
