import assert from 'node:assert/strict';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { test } from 'node:test';
import { createAddressPolicy } from '../../src/delivery/address-policy.js';
import { BlockedAddressError, createGuardedLookup, type LookupAllFunction } from '../../src/delivery/guarded-lookup.js';
import { fakeLookup } from './fake-lookup.js';

// These tests call the lookup function directly. The addresses are strings passed to
// callbacks, and no socket is opened.

interface LookupOutcome {
  error: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family: number | undefined;
}

function runLookup(lookup: LookupAllFunction, hostname: string, options: LookupOptions, allowedCidrs: string[] = []) {
  const guarded = createGuardedLookup(createAddressPolicy(allowedCidrs), lookup);
  return new Promise<LookupOutcome>((resolve) => {
    guarded(hostname, options, (error, address, family) => resolve({ error, address, family }));
  });
}

const table = {
  'public.hookline.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'private.hookline.test': ['10.0.0.5'],
  'metadata.hookline.test': ['169.254.169.254'],
  'mixed.hookline.test': ['93.184.215.14', '127.0.0.1'],
  'mapped.hookline.test': ['::ffff:192.168.0.1'],
  'empty.hookline.test': [],
};

test('guarded lookup returns allowed addresses', async () => {
  const outcome = await runLookup(fakeLookup(table), 'public.hookline.test', { all: true });
  assert.equal(outcome.error, null);
  assert.deepEqual(outcome.address, [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
  ]);
});

test('guarded lookup returns one address', async () => {
  const outcome = await runLookup(fakeLookup(table), 'public.hookline.test', {});
  assert.equal(outcome.error, null);
  assert.equal(outcome.address, '93.184.215.14');
  assert.equal(outcome.family, 4);
});

test('guarded lookup honours the family', async () => {
  const ipv6 = await runLookup(fakeLookup(table), 'public.hookline.test', { family: 6 });
  assert.equal(ipv6.address, '2606:2800:21f:cb07:6820:80da:af6b:8b2c');
  assert.equal(ipv6.family, 6);

  const ipv4Only = await runLookup(fakeLookup(table), 'public.hookline.test', { family: 'IPv4', all: true });
  assert.deepEqual(ipv4Only.address, [{ address: '93.184.215.14', family: 4 }]);
});

test('guarded lookup blocks private answers', async () => {
  const cases: Array<[string, string, string]> = [
    ['private.hookline.test', '10.0.0.5', 'private'],
    ['metadata.hookline.test', '169.254.169.254', 'linkLocal'],
    ['mixed.hookline.test', '127.0.0.1', 'loopback'],
    ['mapped.hookline.test', '192.168.0.1', 'private'],
  ];
  for (const [hostname, address, range] of cases) {
    const outcome = await runLookup(fakeLookup(table), hostname, { all: true });
    assert.ok(outcome.error instanceof BlockedAddressError, hostname);
    assert.equal(outcome.error.code, 'ERR_HOOKLINE_BLOCKED_ADDRESS');
    assert.equal(outcome.error.hostname, hostname);
    assert.equal(outcome.error.decision.address, address, hostname);
    assert.equal(outcome.error.decision.range, range, hostname);
    assert.match(outcome.error.message, new RegExp(`${hostname} \\(${address}\\): the address is in the ${range} range`));
  }
});

test('guarded lookup lets allowed ranges through', async () => {
  const outcome = await runLookup(fakeLookup(table), 'private.hookline.test', { all: true }, ['10.0.0.0/24']);
  assert.equal(outcome.error, null);
  assert.deepEqual(outcome.address, [{ address: '10.0.0.5', family: 4 }]);
});

test('guarded lookup checks every answer it hands out', async () => {
  // A resolver that changes its answer between calls, as in DNS rebinding: each call
  // hands out only what that same call checked.
  const answers = [['93.184.215.14'], ['127.0.0.1']];
  const rebinding: LookupAllFunction = (_hostname, _options, callback) => {
    const next = answers.shift() ?? [];
    callback(null, next.map((address) => ({ address, family: 4 })));
  };
  const guarded = createGuardedLookup(createAddressPolicy(), rebinding);
  const outcomes: LookupOutcome[] = [];
  for (let call = 0; call < 2; call += 1) {
    outcomes.push(
      await new Promise<LookupOutcome>((resolve) => {
        guarded('rebind.hookline.test', { all: true }, (error, address, family) => resolve({ error, address, family }));
      }),
    );
  }
  assert.deepEqual(outcomes[0]?.address, [{ address: '93.184.215.14', family: 4 }]);
  assert.ok(outcomes[1]?.error instanceof BlockedAddressError);
});

test('guarded lookup passes resolver errors on', async () => {
  const outcome = await runLookup(fakeLookup(table), 'missing.hookline.test', { all: true });
  assert.equal(outcome.error?.code, 'ENOTFOUND');
});

test('guarded lookup fails on an empty answer', async () => {
  const outcome = await runLookup(fakeLookup(table), 'empty.hookline.test', {});
  assert.equal(outcome.error?.code, 'ENOTFOUND');
  assert.match(outcome.error?.message ?? '', /empty\.hookline\.test returned no addresses/);

  const noIpv6 = await runLookup(fakeLookup(table), 'private.hookline.test', { family: 6 }, ['10.0.0.0/8']);
  assert.match(noIpv6.error?.message ?? '', /returned no addresses of IPv6/);
});

test('guarded lookup reports a throwing resolver', async () => {
  const throwing: LookupAllFunction = () => {
    throw Object.assign(new Error('resolver exploded'), { code: 'EAI_FAIL' });
  };
  const outcome = await runLookup(throwing, 'any.hookline.test', {});
  assert.equal(outcome.error?.code, 'EAI_FAIL');
});
