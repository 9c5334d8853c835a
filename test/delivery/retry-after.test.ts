import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHttpDate, parseRetryAfter } from '../../src/delivery/retry-after.js';

const now = Date.UTC(2024, 10, 6, 8, 49, 0);
const options = { now, maxDelayMs: 3_600_000 };

test('parseRetryAfter reads seconds and dates', () => {
  // [header, expected delay in milliseconds]
  const cases: Array<[string | undefined, number | undefined]> = [
    ['0', 0],
    ['30', 30_000],
    [' 120 ', 120_000],
    ['3600', 3_600_000],
    ['3601', 3_600_000],
    ['99999999999', 3_600_000],
    ['9'.repeat(400), 3_600_000],
    ['Wed, 06 Nov 2024 08:49:37 GMT', 37_000],
    ['Wednesday, 06-Nov-24 08:49:37 GMT', 37_000],
    ['Wed Nov  6 08:49:37 2024', 37_000],
    ['Wed, 06 Nov 2024 08:48:00 GMT', 0],
    ['Thu, 06 Nov 2025 08:49:00 GMT', 3_600_000],
    [undefined, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['Wed, 06 Nov 2024 08:49:37 UTC', undefined],
    ['Wed, 31 Feb 2024 08:49:37 GMT', undefined],
    ['Wed, 06 Nov 2024 24:00:00 GMT', undefined],
    ['2024-11-06T08:49:37Z', undefined],
  ];
  for (const [header, expected] of cases) {
    assert.equal(parseRetryAfter(header, options), expected, String(header));
  }
});

test('parseHttpDate reads the three formats', () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  const reference = Date.UTC(2024, 0, 1);
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', reference), expected);
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', reference), expected);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994', reference), expected);
});

test('parseHttpDate reads two-digit years near now', () => {
  const reference = Date.UTC(2024, 0, 1);
  // 2070 is within 50 years of 2024, but 2080 is not, so 80 means 1980.
  assert.equal(parseHttpDate('Wednesday, 01-Jan-70 00:00:00 GMT', reference), Date.UTC(2070, 0, 1));
  assert.equal(parseHttpDate('Tuesday, 01-Jan-80 00:00:00 GMT', reference), Date.UTC(1980, 0, 1));
  assert.equal(parseHttpDate('Monday, 01-Jan-24 00:00:00 GMT', reference), Date.UTC(2024, 0, 1));
});
