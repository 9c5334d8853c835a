import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createId, isId } from '../src/store/ids.js';

test('createId increases within one millisecond', () => {
  const ids = Array.from({ length: 1000 }, () => createId('msg', 1_700_000_000_000));
  const sorted = [...ids].sort();
  assert.deepEqual(ids, sorted);
  assert.equal(new Set(ids).size, ids.length);
});

test('createId sorts by time across milliseconds', () => {
  const earlier = createId('ep', 1_700_000_000_000);
  const later = createId('ep', 1_700_000_000_500);
  assert.ok(earlier < later);
});

test('isId checks prefix and shape', () => {
  const id = createId('app');
  assert.ok(isId('app', id));
  assert.ok(!isId('ep', id));
  assert.ok(!isId('app', 'app_short'));
  assert.equal(id.length, 'app_'.length + 26);
});
