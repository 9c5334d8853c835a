import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAddress } from '../../src/delivery/address-policy.js';
import { BlockedAddressError } from '../../src/delivery/guarded-lookup.js';
import { classifySendError } from '../../src/delivery/send-error.js';

function codedError(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

test('classifySendError maps error codes', () => {
  const cases: Array<[string, string]> = [
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['EPIPE', 'connection_reset'],
    ['UND_ERR_SOCKET', 'connection_reset'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ETIMEDOUT', 'timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['ERR_INVALID_URL', 'invalid_url'],
    ['UND_ERR_INVALID_ARG', 'other'],
    ['ESOMETHINGELSE', 'other'],
  ];
  for (const [code, reason] of cases) {
    assert.equal(classifySendError(codedError('failed', code)).reason, reason, code);
  }
});

test('classifySendError looks through causes', () => {
  const inner = codedError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED');
  const outer = new Error('fetch failed', { cause: inner });
  assert.deepEqual(classifySendError(outer), {
    reason: 'connection_refused',
    message: 'connect ECONNREFUSED 127.0.0.1:9',
  });
});

test('classifySendError looks into AggregateError', () => {
  const aggregate = new AggregateError([codedError('connect ECONNREFUSED ::1:9', 'ECONNREFUSED')], 'all failed');
  assert.equal(classifySendError(aggregate).reason, 'connection_refused');
});

test('classifySendError names the code in the message', () => {
  assert.equal(classifySendError(codedError('other side closed', 'UND_ERR_SOCKET')).message, 'other side closed (UND_ERR_SOCKET)');
});

test('classifySendError keeps the blocked message', () => {
  const error = new BlockedAddressError('internal.hookline.test', classifyAddress('10.0.0.1'));
  assert.deepEqual(classifySendError(error), { reason: 'blocked', message: error.message });
});

test('classifySendError falls back to other', () => {
  assert.deepEqual(classifySendError(new Error('odd failure')), { reason: 'other', message: 'odd failure' });
  assert.deepEqual(classifySendError('a string'), { reason: 'other', message: 'a string' });
});
