import { BlockedAddressError } from './guarded-lookup.js';

/** Reason a webhook request got no HTTP response. */
export type SendErrorReason =
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'dns'
  | 'blocked'
  | 'tls'
  | 'invalid_url'
  | 'other';

const reasonByCode: Readonly<Record<string, SendErrorReason>> = {
  ERR_HOOKLINE_BLOCKED_ADDRESS: 'blocked',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  // undici reports a peer that closed the socket before the response ended this way.
  UND_ERR_SOCKET: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  EAI_NODATA: 'dns',
  ENODATA: 'dns',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ERR_INVALID_URL: 'invalid_url',
  ERR_TLS_CERT_ALTNAME_INVALID: 'tls',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'tls',
  CERT_HAS_EXPIRED: 'tls',
  CERT_NOT_YET_VALID: 'tls',
  CERT_REVOKED: 'tls',
  CERT_UNTRUSTED: 'tls',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'tls',
  SELF_SIGNED_CERT_IN_CHAIN: 'tls',
  UNABLE_TO_GET_ISSUER_CERT: 'tls',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'tls',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'tls',
  HOSTNAME_MISMATCH: 'tls',
};

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) {
    return undefined;
  }
  return typeof error.code === 'string' ? error.code : undefined;
}

function reasonOfCode(code: string): SendErrorReason | undefined {
  const known = reasonByCode[code];
  if (known !== undefined) {
    return known;
  }
  // OpenSSL and Node report TLS failures under these prefixes, with many variants.
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_')) {
    return 'tls';
  }
  return undefined;
}

// Yields the error, then the errors it wraps: undici sets `cause`, and Node's connection
// attempts to several addresses of one name fail with an AggregateError of each attempt.
function* unwrap(error: unknown, depth = 0): Generator<unknown> {
  if (depth > 5 || typeof error !== 'object' || error === null) {
    return;
  }
  yield error;
  if ('cause' in error) {
    yield* unwrap(error.cause, depth + 1);
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      yield* unwrap(inner, depth + 1);
    }
  }
}

function messageOf(error: unknown): string {
  if (error instanceof BlockedAddressError) {
    return error.message;
  }
  if (error instanceof Error) {
    const code = codeOf(error);
    const text = error.message === '' ? error.name : error.message;
    return code === undefined || text.includes(code) ? text : `${text} (${code})`;
  }
  return String(error);
}

/**
 * Classifies an error thrown while sending a webhook by its stable error code, looking
 * through wrapped causes. The message is that of the outermost error with a known code.
 */
export function classifySendError(error: unknown): { reason: SendErrorReason; message: string } {
  for (const candidate of unwrap(error)) {
    const code = codeOf(candidate);
    const reason = code === undefined ? undefined : reasonOfCode(code);
    if (reason !== undefined) {
      return { reason, message: messageOf(candidate) };
    }
  }
  return { reason: 'other', message: messageOf(error) };
}
