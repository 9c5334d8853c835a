import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryMessageNotifier } from '../../src/cache/message-notifier.js';
import { RedisMessageNotifier } from '../../src/cache/redis-message-notifier.js';
import { waitFor } from '../helpers/hookline.js';
import { redisUnavailable, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

test('memory notifier wakes subscribers of the application only', async () => {
  const notifier = new MemoryMessageNotifier();
  const calls: string[] = [];
  const unsubscribe = notifier.subscribe('app_a', () => calls.push('a'));
  notifier.subscribe('app_b', () => calls.push('b'));

  notifier.publish('app_a');
  unsubscribe();
  notifier.publish('app_a');
  notifier.publish('app_b');
  assert.deepEqual(calls, ['a', 'b']);
  await notifier.close();
});

test('redis notifier reaches subscribers in another notifier', async (context) => {
  const reason = await redisUnavailable();
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }
  const channel = `${uniquePrefix()}message-accepted`;
  const errors: Error[] = [];
  const options = { url: testRedisUrl, channel, listen: true, onError: (error: Error) => errors.push(error) };
  const accepting = new RedisMessageNotifier(options);
  const reading = new RedisMessageNotifier(options);
  context.after(() => Promise.all([accepting.close(), reading.close()]));

  const received: string[] = [];
  reading.subscribe('app_a', () => received.push('app_a'));
  reading.subscribe('app_b', () => received.push('app_b'));
  // The subscription is set up asynchronously: publish until the first notice arrives.
  await waitFor(
    () => {
      accepting.publish('app_a');
      return received.length > 0;
    },
    10_000,
    'the first notice',
  );
  const before = received.length;
  accepting.publish('app_b');
  await waitFor(() => received.includes('app_b'), 10_000, 'the notice for app_b');
  assert.ok(received.slice(0, before).every((app) => app === 'app_a'));
  assert.deepEqual(errors, []);
});
