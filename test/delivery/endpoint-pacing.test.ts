import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryState } from '../../src/cache/memory-state.js';
import { EndpointPacing } from '../../src/delivery/endpoint-pacing.js';

function createPacing(endpointConcurrency = 2) {
  const clock = { now: Date.UTC(2026, 0, 10) };
  const state = new MemoryState(() => clock.now);
  return { pacing: new EndpointPacing({ state, clock: () => clock.now, endpointConcurrency }), clock };
}

test('tryEnter caps endpoints until they respond', () => {
  const { pacing } = createPacing(2);
  assert.equal(pacing.tryEnter('ep_new'), true);
  assert.equal(pacing.tryEnter('ep_new'), true);
  assert.equal(pacing.tryEnter('ep_new'), false);

  pacing.recordResult('ep_new', false);
  for (let index = 0; index < 5; index += 1) {
    assert.equal(pacing.tryEnter('ep_new'), true, `responding slot ${index}`);
  }
});

test('tryEnter caps endpoints that time out', () => {
  const { pacing } = createPacing(2);
  pacing.recordResult('ep_dead', false);
  pacing.recordResult('ep_dead', true);
  assert.equal(pacing.tryEnter('ep_dead'), true);
  assert.equal(pacing.tryEnter('ep_dead'), true);
  assert.equal(pacing.tryEnter('ep_dead'), false);

  pacing.leave('ep_dead');
  assert.equal(pacing.tryEnter('ep_dead'), true);

  pacing.recordResult('ep_dead', false);
  assert.equal(pacing.tryEnter('ep_dead'), true);
});

test('inFlightDelay grows with denials per second', () => {
  const { pacing, clock } = createPacing(2);
  const delays = Array.from({ length: 30 }, () => pacing.inFlightDelay('ep_a', 100));
  // Denials 1-2 wait 100-200 ms, 3-4 wait 200-400 ms, and so on up to 10 rounds.
  for (const [index, delay] of delays.entries()) {
    const rounds = Math.min(10, Math.ceil((index + 1) / 2));
    assert.ok(delay >= 100 * rounds, `denial ${index + 1} waits ${delay} ms`);
    assert.ok(delay <= 200 * rounds, `denial ${index + 1} waits ${delay} ms`);
  }

  clock.now += 1_000;
  const fresh = pacing.inFlightDelay('ep_a', 100);
  assert.ok(fresh <= 200, `first denial of a new second waits ${fresh} ms`);
});

test('takeToken spreads a backlog over the rate', async () => {
  const { pacing } = createPacing();
  // A rate of 2 per second allows a burst of 2.
  assert.equal(await pacing.takeToken('ep_rate', 2), 0);
  assert.equal(await pacing.takeToken('ep_rate', 2), 0);

  const waits: number[] = [];
  for (let index = 0; index < 4; index += 1) {
    waits.push(await pacing.takeToken('ep_rate', 2));
  }
  // The n-th denial waits for the next token (500 ms) plus (n - 1) / rate seconds, plus
  // up to one token's time of jitter.
  for (const [index, wait] of waits.entries()) {
    assert.ok(wait >= 500 + index * 500, `denial ${index + 1} waits ${wait} ms`);
    assert.ok(wait <= 1_000 + index * 500, `denial ${index + 1} waits ${wait} ms`);
  }
  assert.equal(await pacing.takeToken('ep_other', 2), 0);
});

test('slowDown keeps the later time', async () => {
  const { pacing, clock } = createPacing();
  assert.equal(await pacing.slowedUntil('ep_slow'), undefined);
  await pacing.slowDown('ep_slow', clock.now + 5_000);
  await pacing.slowDown('ep_slow', clock.now + 1_000);
  assert.equal(await pacing.slowedUntil('ep_slow'), clock.now + 5_000);
  await pacing.slowDown('ep_slow', clock.now + 9_000);
  assert.equal(await pacing.slowedUntil('ep_slow'), clock.now + 9_000);

  clock.now += 9_000;
  assert.equal(await pacing.slowedUntil('ep_slow'), undefined);
});
