import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideAttempt, verdictOf, type DecisionInput } from '../../src/delivery/attempt-decision.js';
import { DeliveryStatus } from '../../src/store/records.js';

const now = Date.UTC(2026, 0, 10, 12, 0, 0);
const schedule = [10_000, 60_000, 300_000];
// random() = 0.5 gives no jitter, so delays are the schedule's exactly.
const options = { retrySchedule: schedule, maxRetryAfterMs: 3_600_000, now, attemptsMade: 1, random: () => 0.5 };

const response = (statusCode: number, headers: Record<string, string> = {}): DecisionInput => ({ kind: 'response', statusCode, headers });

test('verdictOf table', () => {
  const cases: Array<[DecisionInput, string]> = [
    [response(200), 'success'],
    [response(204), 'success'],
    [response(299), 'success'],
    [response(301), 'failure'],
    [response(302), 'failure'],
    [response(400), 'failure'],
    [response(404), 'failure'],
    [response(410), 'gone'],
    [response(429), 'slow-down'],
    [response(500), 'failure'],
    [response(501), 'failure'],
    [response(502), 'slow-down'],
    [response(503), 'slow-down'],
    [response(504), 'slow-down'],
    [{ kind: 'error', reason: 'timeout' }, 'failure'],
    [{ kind: 'error', reason: 'connection_refused' }, 'failure'],
    [{ kind: 'error', reason: 'dns' }, 'failure'],
    [{ kind: 'error', reason: 'blocked' }, 'rejected'],
    [{ kind: 'error', reason: 'invalid_url' }, 'rejected'],
  ];
  for (const [input, verdict] of cases) {
    assert.equal(verdictOf(input), verdict, JSON.stringify(input));
  }
});

test('decideAttempt success finishes delivery', () => {
  const decision = decideAttempt(response(200), options);
  assert.deepEqual(decision, { status: DeliveryStatus.success, nextAttemptAt: null, verdict: 'success', exhausted: false });
});

test('decideAttempt failure follows schedule', () => {
  assert.equal(decideAttempt(response(500), options).nextAttemptAt, now + 10_000);
  assert.equal(decideAttempt(response(500), { ...options, attemptsMade: 3 }).nextAttemptAt, now + 300_000);
  const exhausted = decideAttempt(response(500), { ...options, attemptsMade: 4 });
  assert.equal(exhausted.status, DeliveryStatus.fail);
  assert.equal(exhausted.nextAttemptAt, null);
  assert.equal(exhausted.exhausted, true);
});

test('decideAttempt gone and rejected fail at once', () => {
  for (const input of [response(410), { kind: 'error', reason: 'blocked' } as const, { kind: 'error', reason: 'invalid_url' } as const]) {
    const decision = decideAttempt(input, options);
    assert.equal(decision.status, DeliveryStatus.fail, JSON.stringify(input));
    assert.equal(decision.nextAttemptAt, null, JSON.stringify(input));
    assert.equal(decision.exhausted, false, JSON.stringify(input));
  }
});

test('decideAttempt honours Retry-After seconds', () => {
  const decision = decideAttempt(response(429, { 'retry-after': '120' }), options);
  assert.equal(decision.verdict, 'slow-down');
  assert.equal(decision.status, DeliveryStatus.pending);
  assert.equal(decision.nextAttemptAt, now + 120_000);
  assert.equal(decision.slowUntil, now + 120_000);
});

test('decideAttempt honours Retry-After date', () => {
  const decision = decideAttempt(response(503, { 'retry-after': 'Sat, 10 Jan 2026 12:05:00 GMT' }), options);
  assert.equal(decision.nextAttemptAt, now + 300_000);
  assert.equal(decision.slowUntil, now + 300_000);
});

test('decideAttempt clamps Retry-After to maximum', () => {
  const decision = decideAttempt(response(503, { 'retry-after': '86400' }), { ...options, maxRetryAfterMs: 600_000 });
  assert.equal(decision.nextAttemptAt, now + 600_000);
  assert.equal(decision.slowUntil, now + 600_000);
});

test('decideAttempt keeps schedule when Retry-After is shorter', () => {
  const decision = decideAttempt(response(502, { 'retry-after': '1' }), { ...options, attemptsMade: 2 });
  assert.equal(decision.nextAttemptAt, now + 60_000);
  assert.equal(decision.slowUntil, now + 1_000);
});

test('decideAttempt slows down without Retry-After', () => {
  for (const header of [undefined, 'soon', '-5']) {
    const headers: Record<string, string> = header === undefined ? {} : { 'retry-after': header };
    const decision = decideAttempt(response(504, headers), options);
    assert.equal(decision.slowUntil, now + schedule[0]!, String(header));
    assert.equal(decision.nextAttemptAt, now + 10_000, String(header));
  }
});

test('decideAttempt ignores Retry-After of other statuses', () => {
  const decision = decideAttempt(response(500, { 'retry-after': '600' }), options);
  assert.equal(decision.slowUntil, undefined);
  assert.equal(decision.nextAttemptAt, now + 10_000);
});

test('decideAttempt exhausted slow-down still fails', () => {
  const decision = decideAttempt(response(429, { 'retry-after': '60' }), { ...options, attemptsMade: 4 });
  assert.equal(decision.status, DeliveryStatus.fail);
  assert.equal(decision.exhausted, true);
  assert.equal(decision.slowUntil, now + 60_000);
});
