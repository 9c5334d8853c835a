import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAddress, createAddressPolicy } from '../../src/delivery/address-policy.js';

// Pure classification: these addresses are only strings here, and no socket is opened.
// [address, allowed, range, address as judged]
const defaultPolicyCases: Array<[string, boolean, string, string]> = [
  // Public unicast.
  ['93.184.215.14', true, 'unicast', '93.184.215.14'],
  ['1.1.1.1', true, 'unicast', '1.1.1.1'],
  ['2606:4700:4700::1111', true, 'unicast', '2606:4700:4700::1111'],
  ['::ffff:93.184.215.14', true, 'unicast', '93.184.215.14'],
  ['64:ff9b::5db8:d70e', true, 'unicast', '93.184.215.14'],
  // Loopback in every notation.
  ['127.0.0.1', false, 'loopback', '127.0.0.1'],
  ['127.255.255.254', false, 'loopback', '127.255.255.254'],
  ['127.1', false, 'loopback', '127.0.0.1'],
  ['2130706433', false, 'loopback', '127.0.0.1'],
  ['0x7f.1', false, 'loopback', '127.0.0.1'],
  ['0x7f000001', false, 'loopback', '127.0.0.1'],
  ['0177.0.0.1', false, 'loopback', '127.0.0.1'],
  ['017700000001', false, 'loopback', '127.0.0.1'],
  ['::1', false, 'loopback', '::1'],
  ['[::1]', false, 'loopback', '::1'],
  ['0:0:0:0:0:0:0:1', false, 'loopback', '::1'],
  ['::ffff:127.0.0.1', false, 'loopback', '127.0.0.1'],
  ['[::ffff:127.0.0.1]', false, 'loopback', '127.0.0.1'],
  ['::ffff:7f00:1', false, 'loopback', '127.0.0.1'],
  ['0:0:0:0:0:ffff:7f00:1', false, 'loopback', '127.0.0.1'],
  ['64:ff9b::7f00:1', false, 'loopback', '127.0.0.1'],
  ['64:ff9b::127.0.0.1', false, 'loopback', '127.0.0.1'],
  // Private networks.
  ['10.0.0.1', false, 'private', '10.0.0.1'],
  ['10.255.255.255', false, 'private', '10.255.255.255'],
  ['172.16.0.1', false, 'private', '172.16.0.1'],
  ['172.31.255.255', false, 'private', '172.31.255.255'],
  ['192.168.1.1', false, 'private', '192.168.1.1'],
  ['0xa.0.0.1', false, 'private', '10.0.0.1'],
  ['167772161', false, 'private', '10.0.0.1'],
  ['::ffff:10.0.0.1', false, 'private', '10.0.0.1'],
  ['::ffff:c0a8:101', false, 'private', '192.168.1.1'],
  ['64:ff9b::a00:1', false, 'private', '10.0.0.1'],
  ['172.15.255.255', true, 'unicast', '172.15.255.255'],
  ['172.32.0.1', true, 'unicast', '172.32.0.1'],
  // Link-local and the cloud metadata address.
  ['169.254.169.254', false, 'linkLocal', '169.254.169.254'],
  ['2852039166', false, 'linkLocal', '169.254.169.254'],
  ['0xa9.0xfe.0xa9.0xfe', false, 'linkLocal', '169.254.169.254'],
  ['::ffff:169.254.169.254', false, 'linkLocal', '169.254.169.254'],
  ['64:ff9b::a9fe:a9fe', false, 'linkLocal', '169.254.169.254'],
  ['fe80::1', false, 'linkLocal', 'fe80::1'],
  ['fe80::1%eth0', false, 'linkLocal', 'fe80::1%eth0'],
  // Unique-local, including the AWS IPv6 metadata address.
  ['fc00::1', false, 'uniqueLocal', 'fc00::1'],
  ['fd00:ec2::254', false, 'uniqueLocal', 'fd00:ec2::254'],
  // Unspecified and "this network".
  ['0.0.0.0', false, 'unspecified', '0.0.0.0'],
  ['0', false, 'unspecified', '0.0.0.0'],
  ['0.1.2.3', false, 'unspecified', '0.1.2.3'],
  ['::', false, 'unspecified', '::'],
  ['::ffff:0.0.0.0', false, 'unspecified', '0.0.0.0'],
  // Multicast and broadcast.
  ['224.0.0.1', false, 'multicast', '224.0.0.1'],
  ['239.255.255.250', false, 'multicast', '239.255.255.250'],
  ['ff02::1', false, 'multicast', 'ff02::1'],
  ['255.255.255.255', false, 'broadcast', '255.255.255.255'],
  // Carrier-grade NAT, benchmarking, documentation and other reserved ranges.
  ['100.64.0.1', false, 'carrierGradeNat', '100.64.0.1'],
  ['100.127.255.254', false, 'carrierGradeNat', '100.127.255.254'],
  ['198.18.0.1', false, 'reserved', '198.18.0.1'],
  ['192.0.0.8', false, 'reserved', '192.0.0.8'],
  ['192.0.2.1', false, 'reserved', '192.0.2.1'],
  ['198.51.100.1', false, 'reserved', '198.51.100.1'],
  ['203.0.113.1', false, 'reserved', '203.0.113.1'],
  ['240.0.0.1', false, 'reserved', '240.0.0.1'],
  ['2001:db8::1', false, 'reserved', '2001:db8::1'],
  ['2001:2::1', false, 'benchmarking', '2001:2::1'],
  // IPv6 forms that carry or reach other addresses.
  ['::127.0.0.1', false, 'ipv4Compatible', '::7f00:1'],
  ['::8.8.8.8', false, 'ipv4Compatible', '::808:808'],
  ['::a00:1', false, 'ipv4Compatible', '::a00:1'],
  ['64:ff9b:1::a00:1', false, 'rfc6052', '64:ff9b:1::a00:1'],
  ['::ffff:0:a00:1', false, 'rfc6145', '::ffff:0:a00:1'],
  ['2002:7f00:1::1', false, '6to4', '2002:7f00:1::1'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false, 'teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ['100::1', false, 'discard', '100::1'],
  ['fec0::1', false, 'deprecatedSiteLocal', 'fec0::1'],
  ['4000::1', false, 'unassigned', '4000::1'],
  // Not an address at all.
  ['localhost', false, 'invalid', 'localhost'],
  ['256.0.0.1', false, 'invalid', '256.0.0.1'],
  ['08.0.0.1', false, 'invalid', '08.0.0.1'],
  ['1.2.3.4.5', false, 'invalid', '1.2.3.4.5'],
  ['', false, 'invalid', ''],
  [' 127.0.0.1', false, 'invalid', ' 127.0.0.1'],
  ['::ffff:0x7f.0.0.1', false, 'invalid', '::ffff:0x7f.0.0.1'],
];

test('classifyAddress table under default policy', () => {
  for (const [address, allowed, range, judged] of defaultPolicyCases) {
    const decision = classifyAddress(address);
    assert.equal(decision.allowed, allowed, `${address} allowed`);
    assert.equal(decision.range, range, `${address} range`);
    assert.equal(decision.address, judged, `${address} judged as`);
    assert.equal(decision.allowedBy, undefined, `${address} allowedBy`);
  }
});

// [address, allowed CIDR ranges, allowed, allowedBy]
const allowedRangeCases: Array<[string, string[], boolean, string | undefined]> = [
  ['127.0.0.1', ['127.0.0.0/8'], true, '127.0.0.0/8'],
  ['2130706433', ['127.0.0.0/8'], true, '127.0.0.0/8'],
  ['::ffff:127.0.0.1', ['127.0.0.0/8'], true, '127.0.0.0/8'],
  ['64:ff9b::7f00:1', ['127.0.0.0/8'], true, '127.0.0.0/8'],
  ['::1', ['127.0.0.0/8'], false, undefined],
  ['::1', ['127.0.0.0/8', '::1/128'], true, '::1/128'],
  ['127.0.0.1', ['::1/128'], false, undefined],
  ['127.0.0.1', ['127.0.0.1/32'], true, '127.0.0.1/32'],
  ['127.0.0.2', ['127.0.0.1/32'], false, undefined],
  ['10.1.2.3', ['10.1.0.0/16'], true, '10.1.0.0/16'],
  ['10.2.0.1', ['10.1.0.0/16'], false, undefined],
  ['192.168.1.1', ['10.0.0.0/8'], false, undefined],
  ['169.254.169.254', ['10.0.0.0/8', '192.168.0.0/16'], false, undefined],
  ['fd12:3456::1', ['fd00::/8'], true, 'fd00::/8'],
  ['fe80::1', ['fd00::/8'], false, undefined],
  ['::ffff:10.0.0.1', ['::ffff:0:0/96'], true, '::ffff:0:0/96'],
];

test('classifyAddress table with allowed ranges', () => {
  for (const [address, ranges, allowed, allowedBy] of allowedRangeCases) {
    const decision = classifyAddress(address, ranges);
    assert.equal(decision.allowed, allowed, `${address} in ${ranges.join(',')}`);
    assert.equal(decision.allowedBy, allowedBy, `${address} in ${ranges.join(',')} allowedBy`);
  }
});

test('classifyAddress keeps the range name when allowed', () => {
  const decision = classifyAddress('127.0.0.1', ['127.0.0.0/8']);
  assert.deepEqual(decision, { allowed: true, address: '127.0.0.1', range: 'loopback', allowedBy: '127.0.0.0/8' });
});

test('URL host notations reach the same decision', () => {
  // WHATWG URL parsing normalizes IPv4 notations; IPv6 hosts keep their brackets.
  const hosts = ['127.0.0.1', '2130706433', '0x7f.1', '0x7f000001', '0177.0.0.1', '127.1', '127.0.0.1.', '[::ffff:127.0.0.1]'];
  for (const host of hosts) {
    const { hostname } = new URL(`http://${host}:8080/`);
    const decision = classifyAddress(hostname);
    assert.equal(decision.allowed, false, host);
    assert.equal(decision.address, '127.0.0.1', host);
    assert.equal(decision.range, 'loopback', host);
  }
});

test('createAddressPolicy rejects invalid ranges', () => {
  for (const range of ['127.0.0.1', '127.0.0.0/33', '::1/129', 'localhost/8', '']) {
    assert.throws(() => createAddressPolicy([range]), RangeError, range);
  }
});
