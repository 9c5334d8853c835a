import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextRetryDelay } from '../../src/delivery/retry-schedule.js';

const second = 1_000;
const minute = 60 * second;
const hour = 60 * minute;
const defaultSchedule = [
  10 * second,
  minute,
  5 * minute,
  30 * minute,
  hour,
  2 * hour,
  5 * hour,
  10 * hour,
  14 * hour,
  20 * hour,
  24 * hour,
];

test('nextRetryDelay follows the schedule without jitter', () => {
  const middle = () => 0.5;
  for (const [index, delay] of defaultSchedule.entries()) {
    assert.equal(nextRetryDelay(defaultSchedule, index + 1, middle), delay, `after attempt ${index + 1}`);
  }
});

test('nextRetryDelay ends after the last entry', () => {
  assert.equal(nextRetryDelay(defaultSchedule, defaultSchedule.length + 1, () => 0.5), undefined);
  assert.equal(nextRetryDelay(defaultSchedule, 100, () => 0.5), undefined);
  assert.equal(nextRetryDelay([], 1, () => 0.5), undefined);
});

test('nextRetryDelay spreads by up to 20 percent', () => {
  // [schedule entry, random value, expected delay]
  const cases: Array<[number, number, number]> = [
    [10_000, 0, 8_000],
    [10_000, 0.25, 9_000],
    [10_000, 0.5, 10_000],
    [10_000, 0.75, 11_000],
    [10_000, 0.999_999, 12_000],
    [60_000, 0, 48_000],
    [1, 0, 1],
    [0, 0.9, 0],
  ];
  for (const [base, random, expected] of cases) {
    assert.equal(nextRetryDelay([base], 1, () => random), expected, `${base} with random ${random}`);
  }
});

test('nextRetryDelay stays within the jitter bounds', () => {
  for (let run = 0; run < 1_000; run += 1) {
    const delay = nextRetryDelay(defaultSchedule, 2);
    assert.ok(delay !== undefined, 'delay defined');
    assert.ok(delay >= 48_000, `delay ${delay}`);
    assert.ok(delay <= 72_000, `delay ${delay}`);
  }
});

test('nextRetryDelay is never negative', () => {
  assert.equal(nextRetryDelay([-5_000], 1, () => 0), 0);
});

test('nextRetryDelay rejects invalid attempt counts', () => {
  for (const attempts of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => nextRetryDelay(defaultSchedule, attempts), RangeError, String(attempts));
  }
});
