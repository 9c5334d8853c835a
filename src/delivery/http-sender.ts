import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { createAddressPolicy, type AddressPolicy } from './address-policy.js';
import { createGuardedLookup, describeBlockedAddress, type LookupAllFunction } from './guarded-lookup.js';
import { readCappedBody } from './response-body.js';
import { classifySendError, type SendErrorReason } from './send-error.js';

export type { SendErrorReason } from './send-error.js';
export type { LookupAllFunction } from './guarded-lookup.js';

export interface WebhookSenderOptions {
  /**
   * Deadline of one request in milliseconds. It covers connecting, waiting for the
   * response headers and reading the response body together. Default 15000.
   */
  timeoutMs?: number;
  /**
   * Bytes of each response body that are read and kept. Once more arrives, the sender
   * stops reading and closes the connection. Default 65536.
   */
  maxResponseBytes?: number;
  /** Value of the `user-agent` header. Default `Hookline`. */
  userAgent?: string;
  /**
   * CIDR ranges that may be reached although they are not public unicast, such as
   * `127.0.0.0/8` and `::1/128` for local development. Default none.
   */
  allowedCidrs?: readonly string[];
  /** DNS lookup used instead of the system resolver, called with `{ all: true }`. */
  lookup?: LookupAllFunction;
  /** Maximum open connections per origin. Further requests wait for a free one. Default no limit. */
  connections?: number;
  /**
   * HTTP proxy that every request goes through, such as `http://proxy.internal:3128`.
   * Hookline resolves and checks the endpoint's host itself, then requests the checked
   * address from the proxy with the original `host` header: plain HTTP as an
   * absolute-form request, HTTPS through a CONNECT tunnel. Credentials in the URL go to
   * the proxy as basic authentication. Default none.
   */
  proxyUrl?: string;
}

/** One webhook request. */
export interface WebhookRequest {
  url: string;
  /** Headers such as `webhook-id` and the endpoint's custom headers. */
  headers: Readonly<Record<string, string>>;
  /** The exact bytes that were signed. */
  body: Buffer;
  /** Cancels the request, for example at shutdown. send then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** An HTTP response of any status, including 3xx and 5xx. */
export interface SendResponse {
  kind: 'response';
  statusCode: number;
  /** Response headers with lower-case names. Repeated headers are joined with `, `. */
  headers: Record<string, string>;
  /** The first maxResponseBytes of the body, decoded as UTF-8. */
  body: string;
  truncated: boolean;
  durationMs: number;
}

/** A request that got no complete response. */
export interface SendError {
  kind: 'error';
  reason: SendErrorReason;
  message: string;
  durationMs: number;
}

export type SendResult = SendResponse | SendError;

export interface WebhookSender {
  /**
   * Sends one POST and returns the response or the reason there was none. Endpoint
   * faults, such as refused connections, timeouts and blocked addresses, are results,
   * never rejections. Rejects only when `request.signal` aborts.
   */
  send(request: WebhookRequest): Promise<SendResult>;
  /** Closes pooled connections after the requests in flight have finished. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

// Headers the sender owns. Framing and connection headers set by a caller would break or
// smuggle requests, and every webhook is JSON from Hookline's user agent.
const reservedHeaders = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  // Hop-by-hop and meant for a proxy: an endpoint's header must not reach the outbound proxy.
  'proxy-authorization',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'content-type',
  'user-agent',
]);

type Target = { url: URL; authorization?: string } | { problem: string };

function parseTarget(text: string): Target {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `Invalid URL "${text}".` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { problem: `Invalid URL "${url.origin}": expected http or https, got ${url.protocol}` };
  }
  if (url.username === '' && url.password === '') {
    return { url };
  }

  // Credentials in the URL are sent as basic authentication, as curl and browsers do.
  let credentials: string;
  try {
    credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    return { problem: `Invalid URL "${url.origin}": the user name or password has an invalid percent-encoding.` };
  }
  return { url, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

// WHATWG URL parsing has already turned every IPv4 notation (decimal, octal, hex, short)
// into dotted decimal and written IPv6 in brackets, so net.isIP recognizes every literal.
function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? undefined : bare;
}

/** Resolves a host name through the guarded lookup, failing when any address is blocked. */
function resolveChecked(lookup: LookupFunction, hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, (error, addresses) => {
      if (error) {
        reject(error);
      } else {
        resolve(addresses as unknown as LookupAddress[]);
      }
    });
  });
}

/**
 * Returns the origin to hand the proxy: the endpoint's origin with the host replaced by
 * its checked address, so the proxy connects where the guard looked and not wherever the
 * name resolves a moment later.
 */
async function pinnedOrigin(url: URL, literal: string | undefined, lookup: LookupFunction): Promise<string> {
  if (literal !== undefined) {
    return url.origin;
  }
  const [first] = await resolveChecked(lookup, url.hostname);
  if (first === undefined) {
    throw Object.assign(new Error(`DNS lookup of ${url.hostname} returned no addresses.`), { code: 'ENOTFOUND' });
  }
  const host = first.family === 6 ? `[${first.address}]` : first.address;
  return `${url.protocol}//${host}${url.port === '' ? '' : `:${url.port}`}`;
}

/** Settles like `work`, or rejects with the signal's reason once it aborts first. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function buildHeaders(
  callerHeaders: Readonly<Record<string, string>>,
  userAgent: string,
  authorization: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) {
    headers.authorization = authorization;
  }
  for (const [name, value] of Object.entries(callerHeaders)) {
    const lowerName = name.toLowerCase();
    if (!reservedHeaders.has(lowerName)) {
      headers[lowerName] = value;
    }
  }
  headers['content-type'] = 'application/json';
  headers['user-agent'] = userAgent;
  return headers;
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) {
      flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return flat;
}

function checkOptions(timeoutMs: number, maxResponseBytes: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`Invalid timeoutMs ${timeoutMs}: expected a positive number of milliseconds.`);
  }
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 0) {
    throw new RangeError(`Invalid maxResponseBytes ${maxResponseBytes}: expected a whole number of bytes, 0 or more.`);
  }
}

/**
 * Creates the HTTP client that delivers webhooks. It POSTs through one pooled undici
 * Agent, never follows redirects, and connects only to addresses that the address policy
 * allows: literal IP hosts are checked before the request, and host names are resolved
 * and checked inside the Agent's connect step, on the very addresses it connects to.
 * Throws RangeError for invalid options or an invalid allowed CIDR range.
 */
export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const userAgent = options.userAgent ?? 'Hookline';
  checkOptions(timeoutMs, maxResponseBytes);

  const policy: AddressPolicy = createAddressPolicy(options.allowedCidrs);
  const guardedLookup = createGuardedLookup(policy, options.lookup);
  const dispatcher: Dispatcher =
    options.proxyUrl === undefined
      ? new Agent({
          connections: options.connections ?? null,
          // The deadline in send ends each request, so undici's own timers are only a backstop.
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          connect: {
            timeout: timeoutMs,
            lookup: guardedLookup,
          },
        })
      : new ProxyAgent({
          uri: options.proxyUrl,
          // Plain HTTP goes to the proxy as absolute-form requests, which every forward
          // proxy serves; HTTPS always goes through a CONNECT tunnel.
          proxyTunnel: false,
          connections: options.connections ?? null,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          proxyTls: { timeout: timeoutMs },
        });

  async function send(request: WebhookRequest): Promise<SendResult> {
    const started = performance.now();
    const failure = (reason: SendErrorReason, message: string): SendError => ({
      kind: 'error',
      reason,
      message,
      durationMs: Math.round(performance.now() - started),
    });

    const target = parseTarget(request.url);
    if ('problem' in target) {
      return failure('invalid_url', target.problem);
    }
    const { url } = target;

    const literal = literalAddress(url.hostname);
    if (literal !== undefined) {
      const decision = policy.classify(literal);
      if (!decision.allowed) {
        return failure('blocked', describeBlockedAddress(literal, decision));
      }
    }

    request.signal?.throwIfAborted();

    // One timer ends the whole exchange. Aborting the signal makes undici cancel the
    // connect or the wait for headers, and destroys the body stream while it is read.
    const deadline = new AbortController();
    let timedOut = false;
    let stage = 'connecting or waiting for the response headers';
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort(new Error(`Timed out after ${timeoutMs} ms.`));
    }, timeoutMs);
    const cancel = (): void => deadline.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', cancel, { once: true });

    try {
      const headers = buildHeaders(request.headers, userAgent, target.authorization);
      let origin = url.origin;
      if (options.proxyUrl !== undefined) {
        origin = await untilAborted(pinnedOrigin(url, literal, guardedLookup), deadline.signal);
        // undici 7 derives the TLS server name from this header, so an HTTPS tunnel to the
        // pinned address still checks the certificate against the endpoint's host name.
        // NOTE: only plain HTTP through a proxy is covered by tests.
        headers.host = url.host;
      }
      const response = await dispatcher.request({
        origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body: request.body,
        signal: deadline.signal,
      });

      stage = 'reading the response body';
      const body = await readCappedBody(response.body, maxResponseBytes);
      return {
        kind: 'response',
        statusCode: response.statusCode,
        headers: flattenHeaders(response.headers),
        body: body.text,
        truncated: body.truncated,
        durationMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      if (request.signal?.aborted === true) {
        throw request.signal.reason;
      }
      if (timedOut) {
        return failure('timeout', `Timed out after ${timeoutMs} ms while ${stage} of ${url.origin}.`);
      }
      const { reason, message } = classifySendError(error);
      return failure(reason, message);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', cancel);
    }
  }

  return {
    send,
    close: () => dispatcher.close(),
  };
}
