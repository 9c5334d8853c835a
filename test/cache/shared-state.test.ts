import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { SharedState } from '../../src/cache/contract.js';
import { MemoryState } from '../../src/cache/memory-state.js';
import { RedisState } from '../../src/cache/redis-state.js';
import { deleteKeys, redisUnavailable, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

interface Driver {
  name: string;
  unavailable(): Promise<string | undefined>;
  open(): { state: SharedState; cleanup(): Promise<void> };
}

const drivers: Driver[] = [
  {
    name: 'memory',
    unavailable: async () => undefined,
    open: () => {
      const state = new MemoryState();
      return { state, cleanup: () => state.close() };
    },
  },
  {
    name: 'redis',
    unavailable: redisUnavailable,
    open: () => {
      const prefix = uniquePrefix();
      const state = new RedisState({ url: testRedisUrl, prefix });
      return {
        state,
        cleanup: async () => {
          await state.close();
          await deleteKeys(prefix);
        },
      };
    },
  },
];

for (const driver of drivers) {
  describe(`SharedState on ${driver.name}`, async () => {
    const reason = await driver.unavailable();
    if (reason !== undefined) {
      test(`skipped: ${reason}`, { skip: reason }, () => {});
      return;
    }

    test('set, get, delete', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      assert.equal(await state.get('a'), undefined);
      await state.set('a', 'one');
      assert.equal(await state.get('a'), 'one');
      await state.set('a', 'two');
      assert.equal(await state.get('a'), 'two');
      await state.delete('a');
      assert.equal(await state.get('a'), undefined);
      await state.delete('never-set');
    });

    test('ttl expires keys', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      await state.set('short', 'x', 50);
      assert.equal(await state.get('short'), 'x');
      await delay(120);
      assert.equal(await state.get('short'), undefined);
    });

    test('setIfAbsent admits one holder', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      const results = await Promise.all(Array.from({ length: 10 }, (_, index) => state.setIfAbsent('lock', String(index), 5_000)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal(await state.get('lock'), String(winner));
    });

    test('setIfAbsent succeeds after expiry', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      assert.equal(await state.setIfAbsent('probe', 'a', 50), true);
      assert.equal(await state.setIfAbsent('probe', 'b', 50), false);
      await delay(120);
      assert.equal(await state.setIfAbsent('probe', 'c', 50), true);
    });

    test('increment counts within one window', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      const values = [];
      for (let index = 0; index < 5; index += 1) {
        values.push(await state.increment('counter', 2, 10_000));
      }
      assert.deepEqual(values, [2, 4, 6, 8, 10]);
      const parallel = await Promise.all(Array.from({ length: 20 }, () => state.increment('parallel', 1, 10_000)));
      assert.deepEqual([...parallel].sort((a, b) => a - b), Array.from({ length: 20 }, (_, index) => index + 1));
    });

    test('increment restarts after the window', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      assert.equal(await state.increment('window', 1, 50), 1);
      assert.equal(await state.increment('window', 1, 50), 2);
      await delay(120);
      assert.equal(await state.increment('window', 1, 50), 1);
    });

    test('takeToken allows burst then waits', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      const waits = [];
      for (let index = 0; index < 4; index += 1) {
        waits.push(await state.takeToken('bucket', 10, 3));
      }
      assert.deepEqual(waits.slice(0, 3), [0, 0, 0]);
      const fourth = waits[3] ?? 0;
      assert.ok(fourth > 0, `expected a wait, got ${fourth}`);
      assert.ok(fourth <= 100, `expected a wait of at most 100 ms, got ${fourth}`);
      await delay(fourth + 20);
      assert.equal(await state.takeToken('bucket', 10, 3), 0);
    });

    test('takeToken shares one bucket', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      const waits = await Promise.all(Array.from({ length: 10 }, () => state.takeToken('shared', 1, 5)));
      assert.equal(waits.filter((wait) => wait === 0).length, 5);
    });

    test('ping answers', async (context) => {
      const { state, cleanup } = driver.open();
      context.after(cleanup);
      await state.ping();
    });
  });
}

test('RedisState sees keys of another connection', async (context) => {
  const reason = await redisUnavailable();
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  const prefix = uniquePrefix();
  const first = new RedisState({ url: testRedisUrl, prefix });
  const second = new RedisState({ url: testRedisUrl, prefix });
  context.after(async () => {
    await first.close();
    await second.close();
    await deleteKeys(prefix);
  });
  assert.equal(await first.setIfAbsent('probe', 'first', 5_000), true);
  assert.equal(await second.setIfAbsent('probe', 'second', 5_000), false);
  assert.equal(await second.get('probe'), 'first');
});
