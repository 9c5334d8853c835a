/** The signed-in caller: the operator with the admin token, or one application with a portal token. */
export type Session = { kind: 'admin'; token: string } | { kind: 'app'; token: string; appId: string; readOnly?: boolean };

const storageKey = 'hookline.session';

export function readSession(): Session | null {
  try {
    const text = sessionStorage.getItem(storageKey);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) {
    sessionStorage.setItem(storageKey, JSON.stringify(session));
  } else {
    sessionStorage.removeItem(storageKey);
  }
}

/**
 * Takes the token of a portal link out of the address. Links look like
 * `/portal/app/<app_id>#token=<token>` (older ones `/portal/#key=<token>&app=<app_id>`).
 * The fragment never reaches a server; removing it keeps it out of the history too.
 */
export function captureLinkToken(): Session | null {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = fragment.get('token') ?? fragment.get('key');
  if (!token) {
    return null;
  }
  const match = /^\/portal\/app\/([^/]+)/.exec(window.location.pathname);
  const appId = match?.[1] ? decodeURIComponent(match[1]) : fragment.get('app');
  const path = appId ? `/portal/app/${encodeURIComponent(appId)}/endpoints` : '/portal/';
  window.history.replaceState(null, '', path);
  if (!appId) {
    return null;
  }
  const session: Session = { kind: 'app', token, appId };
  saveSession(session);
  return session;
}

/** One problem with one field, from a 422 response. */
export interface FieldProblem {
  loc: (string | number)[];
  msg: string;
  type?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: FieldProblem[] = [],
  ) {
    super(message);
  }

  /** Messages by field name (the last part of each problem's location). */
  get fields(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const problem of this.problems) {
      const key = problem.loc.filter((part) => part !== 'body').join('.') || 'body';
      fields[key] = fields[key] ? `${fields[key]} ${problem.msg}` : problem.msg;
    }
    return fields;
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Calls `listener` when the API rejects the session's token (expired or revoked). */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

const readOnlyListeners = new Set<Listener>();

/** Calls `listener` when the API rejects a change because the portal token is read-only. */
export function onReadOnly(listener: Listener): () => void {
  readOnlyListeners.add(listener);
  return () => readOnlyListeners.delete(listener);
}

export type Query = Record<string, string | number | boolean | string[] | undefined | null>;

function queryString(query: Query | undefined): string {
  if (!query) {
    return '';
  }
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    if (Array.isArray(value)) {
      value.forEach((entry) => params.append(name, entry));
    } else {
      params.set(name, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Calls the Hookline API with the session's token and returns the parsed body. */
export async function api<T>(
  session: Session,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const response = await fetch(`/api/v1${path}${queryString(options.query)}`, {
    method,
    headers: {
      authorization: `Bearer ${session.token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    referrerPolicy: 'no-referrer',
    signal: options.signal,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (response.ok) {
    return body as T;
  }
  if (response.status === 401) {
    unauthorizedListeners.forEach((listener) => listener());
  }
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  if (response.status === 403 && typeof detail === 'string' && /read-only/i.test(detail)) {
    readOnlyListeners.forEach((listener) => listener());
  }
  if (Array.isArray(detail)) {
    const problems = detail as FieldProblem[];
    throw new ApiError(response.status, problems.map((problem) => `${problem.loc.slice(1).join('.')}: ${problem.msg}`).join(' '), problems);
  }
  throw new ApiError(response.status, typeof detail === 'string' ? detail : `The server returned ${response.status}.`);
}

export interface ListPage<T> {
  data: T[];
  iterator: string | null;
  prevIterator: string | null;
  done: boolean;
}

export interface Application {
  id: string;
  uid: string | null;
  name: string;
  createdAt: string;
}

export interface EventType {
  name: string;
  description: string;
  schemas: Record<string, Record<string, unknown>> | null;
  archived: boolean;
  deprecated: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Endpoint {
  id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  throttleRate: number | null;
  eventTypes: string[] | null;
  channels: string[] | null;
  createdAt: string;
  updatedAt: string;
}

export interface Message {
  id: string;
  eventType: string;
  eventId: string | null;
  payload: Record<string, unknown>;
  channels: string[] | null;
  timestamp: string;
}

export type StatusText = 'success' | 'pending' | 'fail' | 'sending';

export interface Attempt {
  id: string;
  msgId: string;
  endpointId: string;
  url: string;
  status: number;
  statusText: StatusText;
  response: string;
  responseStatusCode: number;
  responseDurationMs: number;
  triggerType: number;
  timestamp: string;
}

export interface MessageLogEntry {
  id: string;
  eventType: string;
  eventId: string | null;
  timestamp: string;
  deliveries: { endpointId: string; url: string | null; status: number; statusText: StatusText; attemptCount: number; nextAttempt: string | null }[];
}

export interface MessageEndpoint extends Endpoint {
  status: number;
  statusText: StatusText;
  nextAttempt: string | null;
}

export interface EndpointHealth {
  breaker: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  openUntil: string | null;
  failingSince: string | null;
  disabled: boolean;
  throttledUntil: string | null;
}

export interface AttemptBucket {
  start: string;
  success: number;
  fail: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface EndpointStatsRow {
  appId: string;
  endpointId: string;
  url: string;
  success: number;
  fail: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface SystemOverview {
  mode: 'embedded' | 'scaled';
  version: string;
  queues: { name: string; waiting: number; delayed: number; active: number; oldestAgeMs: number | null }[];
  outboxBacklog: number;
  openBreakers: number;
  disabledEndpoints: number;
  throughput: { acceptedLastMinute: number; attemptsLastMinute: number };
}

export interface OpenBreaker {
  appId: string;
  endpointId: string;
  url: string;
  openUntil: string | null;
  consecutiveFailures: number;
}

/** Path of an application's routes, by id. */
export const appPath = (appId: string) => `/app/${encodeURIComponent(appId)}`;
