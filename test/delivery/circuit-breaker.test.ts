import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SharedState } from '../../src/cache/contract.js';
import { MemoryState } from '../../src/cache/memory-state.js';
import { RedisState } from '../../src/cache/redis-state.js';
import { CircuitBreaker } from '../../src/delivery/circuit-breaker.js';
import { createLogger } from '../../src/observability/logger.js';
import { Writable } from 'node:stream';
import { deleteKeys, redisUnavailable, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

interface Harness {
  breaker: CircuitBreaker;
  /** A second breaker on the same state, as another worker process has. */
  otherWorker: CircuitBreaker;
  clock: { now: number };
  logs: Array<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

const drivers: Array<{ name: string; unavailable(): Promise<string | undefined>; open(): { state: SharedState; cleanup(): Promise<void> } }> = [
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

function harness(open: () => { state: SharedState; cleanup(): Promise<void> }): Harness {
  const { state, cleanup } = open();
  const clock = { now: Date.UTC(2026, 0, 10) };
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter((text) => text !== '')) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const logger = createLogger({ level: 'info', pretty: false, destination });
  const options = { state, logger, clock: () => clock.now, threshold: 3, cooldownMs: 1_000, maxCooldownMs: 3_000, probeLeaseMs: 60_000 };
  return { breaker: new CircuitBreaker(options), otherWorker: new CircuitBreaker(options), clock, logs, cleanup };
}

const ids = { endpointId: 'ep_test' };

for (const driver of drivers) {
  describe(`CircuitBreaker on ${driver.name}`, async () => {
    const reason = await driver.unavailable();
    if (reason !== undefined) {
      test(`skipped: ${reason}`, { skip: reason }, () => {});
      return;
    }

    test('opens after threshold failures', async (t) => {
      const { breaker, otherWorker, clock, logs, cleanup } = harness(driver.open);
      t.after(cleanup);

      assert.deepEqual(await breaker.admit('ep_a'), { kind: 'closed' });
      assert.deepEqual(await breaker.recordFailure('ep_a', false, ids), { consecutiveFailures: 1, opened: false });
      assert.deepEqual(await otherWorker.recordFailure('ep_a', false, ids), { consecutiveFailures: 2, opened: false });
      assert.deepEqual(await breaker.admit('ep_a'), { kind: 'closed' });
      assert.deepEqual(await otherWorker.recordFailure('ep_a', false, ids), { consecutiveFailures: 3, opened: true });
      // A failure that finished after the breaker opened does not open it again.
      assert.deepEqual(await breaker.recordFailure('ep_a', false, ids), { consecutiveFailures: 4, opened: false });

      const admission = await breaker.admit('ep_a');
      assert.equal(admission.kind, 'open');
      const retryAt = admission.kind === 'open' ? admission.retryAt : 0;
      assert.ok(retryAt >= clock.now + 1_000, `retryAt ${retryAt}`);
      assert.ok(retryAt <= clock.now + 1_250, `retryAt ${retryAt}`);
      assert.deepEqual(await breaker.admit('ep_other'), { kind: 'closed' });

      const snapshot = await otherWorker.inspect('ep_a');
      assert.deepEqual(snapshot, { breaker: 'open', consecutiveFailures: 4, openUntil: clock.now + 1_000 });
      assert.equal(logs.filter((line) => line.msg === 'Circuit breaker opened: deliveries to this endpoint are postponed until a probe succeeds').length, 1);
    });

    test('admits one probe at a time', async (t) => {
      const { breaker, otherWorker, clock, cleanup } = harness(driver.open);
      t.after(cleanup);
      for (let index = 0; index < 3; index += 1) {
        await breaker.recordFailure('ep_b', false, ids);
      }

      clock.now += 1_000;
      assert.equal((await breaker.inspect('ep_b')).breaker, 'half-open');
      assert.deepEqual(await breaker.admit('ep_b'), { kind: 'probe' });
      const second = await otherWorker.admit('ep_b');
      assert.equal(second.kind, 'open');
      const third = await breaker.admit('ep_b');
      assert.equal(third.kind, 'open');
    });

    test('failed probe doubles the cooldown up to maximum', async (t) => {
      const { breaker, clock, logs, cleanup } = harness(driver.open);
      t.after(cleanup);
      for (let index = 0; index < 3; index += 1) {
        await breaker.recordFailure('ep_c', false, ids);
      }

      const expectedCooldowns = [2_000, 3_000, 3_000];
      let cooldown = 1_000;
      for (const [index, expected] of expectedCooldowns.entries()) {
        clock.now += cooldown;
        assert.deepEqual(await breaker.admit('ep_c'), { kind: 'probe' });
        assert.deepEqual(await breaker.recordFailure('ep_c', true, ids), { consecutiveFailures: 4 + index, opened: true });
        assert.equal((await breaker.inspect('ep_c')).openUntil, clock.now + expected);
        assert.equal((await breaker.admit('ep_c')).kind, 'open');
        cooldown = expected;
      }
      assert.equal(logs.filter((line) => line.msg === 'Circuit breaker reopened: the probe attempt failed').length, 3);
    });

    test('success closes the breaker', async (t) => {
      const { breaker, otherWorker, clock, logs, cleanup } = harness(driver.open);
      t.after(cleanup);
      for (let index = 0; index < 3; index += 1) {
        await breaker.recordFailure('ep_d', false, ids);
      }
      clock.now += 1_000;
      assert.deepEqual(await breaker.admit('ep_d'), { kind: 'probe' });

      assert.equal(await breaker.recordSuccess('ep_d', ids), 3);
      assert.deepEqual(await otherWorker.admit('ep_d'), { kind: 'closed' });
      assert.deepEqual(await otherWorker.inspect('ep_d'), { breaker: 'closed', consecutiveFailures: 0, openUntil: null });
      assert.equal(await breaker.recordSuccess('ep_d', ids), 0);
      assert.equal(logs.filter((line) => line.msg === 'Circuit breaker closed: an attempt succeeded').length, 1);

      // The count starts again from zero.
      assert.deepEqual(await breaker.recordFailure('ep_d', false, ids), { consecutiveFailures: 1, opened: false });
    });

    test('success below threshold resets the count', async (t) => {
      const { breaker, cleanup } = harness(driver.open);
      t.after(cleanup);
      await breaker.recordFailure('ep_e', false, ids);
      await breaker.recordFailure('ep_e', false, ids);
      assert.equal(await breaker.recordSuccess('ep_e', ids), 2);
      await breaker.recordFailure('ep_e', false, ids);
      await breaker.recordFailure('ep_e', false, ids);
      assert.deepEqual(await breaker.admit('ep_e'), { kind: 'closed' });
    });
  });
}
