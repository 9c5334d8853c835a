import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketStart, latencyBin, latencyQuantile } from '../../src/store/repositories/attempt-stats.js';

test('latencyBin picks the bin by upper bound', () => {
  const cases: [durationMs: number, bin: number][] = [
    [0, 0],
    [10, 0],
    [11, 1],
    [25, 1],
    [100, 3],
    [101, 4],
    [30_000, 10],
    [30_001, 11],
    [600_000, 11],
  ];
  for (const [durationMs, bin] of cases) {
    assert.equal(latencyBin(durationMs), bin, `${durationMs} ms`);
  }
});

test('latencyQuantile interpolates inside a bin', () => {
  const bins = new Array<number>(12).fill(0);
  assert.equal(latencyQuantile(bins, 0.5), null);

  // 10 attempts in the 50–100 ms bin: the median is halfway through it.
  bins[3] = 10;
  assert.equal(latencyQuantile(bins, 0.5), 75);
  assert.equal(latencyQuantile(bins, 1), 100);

  // 90 fast attempts and 10 slow ones: p50 is fast, p95 lies in the 1–2.5 s bin.
  const mixed = new Array<number>(12).fill(0);
  mixed[0] = 90;
  mixed[7] = 10;
  assert.equal(latencyQuantile(mixed, 0.5), 6);
  assert.equal(latencyQuantile(mixed, 0.95), 1_750);

  // The open bin above 30 s returns its lower bound.
  const slow = new Array<number>(12).fill(0);
  slow[11] = 3;
  assert.equal(latencyQuantile(slow, 0.95), 30_000);
});

test('bucketStart aligns to UTC buckets', () => {
  const time = Date.UTC(2031, 4, 6, 13, 47, 12, 345);
  assert.equal(bucketStart('minute', time), Date.UTC(2031, 4, 6, 13, 47));
  assert.equal(bucketStart('hour', time), Date.UTC(2031, 4, 6, 13));
  assert.equal(bucketStart('day', time), Date.UTC(2031, 4, 6));
});
