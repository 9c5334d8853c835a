import { test } from 'node:test';
import { redisUnavailable } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

// The malformed-input sweep again, on PostgreSQL and Redis: PostgreSQL rejects text that
// SQLite stores, and concurrent requests race on unique indexes that SQLite serializes.
const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
if (reason === undefined) {
  process.env.HOOKLINE_SWEEP_MODE = 'scaled';
  await import('./route-sweep.test.js');
} else {
  test('route sweep on the scaled mode', { skip: reason }, () => {});
}
