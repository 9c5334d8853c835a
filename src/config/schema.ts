import ipaddr from 'ipaddr.js';
import { formatDuration, parseDuration } from './duration.js';

/** One environment variable: how it is parsed, its default and what it means. */
export interface Setting<T> {
  name: string;
  /** Unit or format, shown in docs and errors. */
  unit: string;
  /** Default as written in the environment; undefined means the setting is optional. */
  defaultText: string | undefined;
  description: string;
  /** Returns the parsed value, or throws an Error whose message names the problem. */
  parse(text: string): T;
}

function setting<T>(definition: Setting<T>): Setting<T> {
  return definition;
}

function parseInteger(minimum: number, maximum: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text.trim())) {
      throw new Error(`expected a whole number from ${minimum} to ${maximum}`);
    }
    const value = Number(text);
    if (value < minimum || value > maximum) {
      throw new Error(`expected a whole number from ${minimum} to ${maximum}`);
    }
    return value;
  };
}

function parseDurationBetween(minimum: number, maximum: number) {
  return (text: string): number => {
    const value = parseDuration(text);
    if (value === undefined) {
      throw new Error('expected a duration such as 500ms, 15s, 5m, 2h or 1d');
    }
    if (value < minimum || value > maximum) {
      throw new Error(`expected a duration from ${formatDuration(minimum)} to ${formatDuration(maximum)}`);
    }
    return value;
  };
}

function parseBoolean(text: string): boolean {
  const normalized = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(normalized)) {
    return true;
  }
  if (['0', 'false', 'no', 'off', ''].includes(normalized)) {
    return false;
  }
  throw new Error('expected true or false (1, yes, on and 0, no, off also work)');
}

const encryptionKeyBytes = 32;

function parseEncryptionKeys(text: string): Buffer[] {
  const keys = parseList(text).map((entry, index) => {
    const position = index === 0 ? 'the key' : `key ${index + 1} of the list`;
    let key: Buffer | undefined;
    if (/^[0-9a-fA-F]{64}$/.test(entry)) {
      key = Buffer.from(entry, 'hex');
    } else if (/^[A-Za-z0-9+/]{43}=?$/.test(entry)) {
      key = Buffer.from(entry, 'base64');
    }
    if (key?.length !== encryptionKeyBytes) {
      throw new Error(
        `${position} is not ${encryptionKeyBytes} bytes in base64 (44 characters) or hex (64 characters); generate one with: openssl rand -base64 32`,
      );
    }
    return key;
  });
  if (keys.length === 0) {
    throw new Error('expected a key of 32 bytes in base64 or hex');
  }
  if (new Set(keys.map((key) => key.toString('hex'))).size !== keys.length) {
    throw new Error('the list contains the same key twice');
  }
  return keys;
}

function parseList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function parseCidrList(text: string): string[] {
  const ranges = parseList(text);
  for (const range of ranges) {
    // ipaddr.js also accepts IPv4 in shortened notations, which a CIDR list should not use.
    const dottedIpv4 = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(range);
    let valid = false;
    try {
      ipaddr.parseCIDR(range);
      valid = dottedIpv4 || range.includes(':');
    } catch {
      valid = false;
    }
    if (!valid) {
      throw new Error(`"${range}" is not a CIDR range such as 127.0.0.0/8 or ::1/128`);
    }
  }
  return ranges;
}

function parseRetrySchedule(text: string): number[] {
  const items = parseList(text);
  if (items.length === 0) {
    throw new Error('expected at least one duration, such as 10s,1m,5m');
  }
  return items.map((item) => {
    const value = parseDuration(item);
    if (value === undefined) {
      throw new Error(`"${item}" is not a duration such as 10s, 1m or 5h`);
    }
    return value;
  });
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** Format of the log lines on stdout. */
export type LogFormat = 'json' | 'pretty';

function parseUrl(protocols: string[]) {
  return (text: string): string => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`expected a URL starting with ${protocols.join(' or ')}`);
    }
    if (!protocols.includes(url.protocol)) {
      throw new Error(`expected a URL starting with ${protocols.join(' or ')}, not ${url.protocol}`);
    }
    return text;
  };
}

/**
 * Every environment variable Hookline reads. docs/configuration.md is generated from
 * this table by `npm run docs:config`, and a test keeps the two in sync.
 */
export const settings = {
  host: setting({
    name: 'HOOKLINE_HOST',
    unit: 'address',
    defaultText: '127.0.0.1',
    description: 'Address the HTTP server listens on. Use 0.0.0.0 to accept connections from other machines.',
    parse: (text) => {
      if (text.trim() === '') {
        throw new Error('expected an address such as 127.0.0.1 or 0.0.0.0');
      }
      return text.trim();
    },
  }),
  port: setting({
    name: 'HOOKLINE_PORT',
    unit: 'TCP port',
    defaultText: '8071',
    description: 'Port the HTTP server listens on. 0 picks a free port, which start-up logs.',
    parse: parseInteger(0, 65535),
  }),
  dataDir: setting({
    name: 'HOOKLINE_DATA_DIR',
    unit: 'path',
    defaultText: './data',
    description:
      'Folder for the SQLite database and the generated admin token file. Created at start-up when missing.',
    parse: (text) => {
      if (text.trim() === '') {
        throw new Error('expected a folder path');
      }
      return text;
    },
  }),
  databaseUrl: setting({
    name: 'DATABASE_URL',
    unit: 'URL',
    defaultText: undefined,
    description:
      'Store to use instead of the SQLite file in the data folder: postgres://USER:PASSWORD@HOST:PORT/DATABASE for PostgreSQL (scaled mode), or sqlite:PATH for another SQLite file.',
    parse: (text) => {
      if (text.startsWith('sqlite:') && text.length > 'sqlite:'.length) {
        return text;
      }
      if (/^postgres(ql)?:\/\/./.test(text)) {
        parseUrl(['postgres:', 'postgresql:'])(text);
        return text;
      }
      throw new Error('expected postgres://USER@HOST:PORT/DATABASE or sqlite:PATH');
    },
  }),
  databasePoolSize: setting({
    name: 'HOOKLINE_DATABASE_POOL_SIZE',
    unit: 'connections',
    defaultText: '10',
    description:
      'PostgreSQL connections this process keeps open. Every API and worker process has its own pool, so the server needs at least the sum over all processes.',
    parse: parseInteger(1, 1_000),
  }),
  redisUrl: setting({
    name: 'REDIS_URL',
    unit: 'URL',
    defaultText: undefined,
    description:
      'Redis server for the BullMQ queues (scaled mode), such as redis://127.0.0.1:6379. When unset, Hookline uses the embedded queue in its database.',
    parse: parseUrl(['redis:', 'rediss:']),
  }),
  eventsRedisUrl: setting({
    name: 'HOOKLINE_EVENTS_REDIS_URL',
    unit: 'URL',
    defaultText: undefined,
    description: 'Redis server for the `events` queue (fan-out), overriding REDIS_URL for that queue.',
    parse: parseUrl(['redis:', 'rediss:']),
  }),
  webhooksRedisUrl: setting({
    name: 'HOOKLINE_WEBHOOKS_REDIS_URL',
    unit: 'URL',
    defaultText: undefined,
    description: 'Redis server for the `webhooks` queue (delivery attempts), overriding REDIS_URL for that queue.',
    parse: parseUrl(['redis:', 'rediss:']),
  }),
  redisPrefix: setting({
    name: 'HOOKLINE_REDIS_PREFIX',
    unit: 'string',
    defaultText: 'hookline',
    description: 'Prefix of every Redis key Hookline writes, so several installations can share one Redis.',
    parse: (text) => {
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(text)) {
        throw new Error('expected 1 to 64 letters, digits or the characters _ . : -');
      }
      return text;
    },
  }),
  adminToken: setting({
    name: 'HOOKLINE_ADMIN_TOKEN',
    unit: 'string, at least 24 characters',
    defaultText: undefined,
    description:
      'Bearer token with access to every application. When unset, the first start generates one and stores it in `admin-token` in the data folder (mode 0600); start-up prints the path, never the token.',
    parse: (text) => {
      if (text.length < 24) {
        throw new Error('expected at least 24 characters, so the token cannot be guessed');
      }
      if (/\s/.test(text)) {
        throw new Error('expected no white space');
      }
      return text;
    },
  }),
  allowPrivateNetworks: setting({
    name: 'HOOKLINE_ALLOW_PRIVATE_NETWORKS',
    unit: 'comma-separated CIDR ranges',
    defaultText: '',
    description:
      'Address ranges that deliveries may reach although they are private, loopback or link-local, for example 127.0.0.0/8,::1/128 for local development. Start-up warns while any range is open.',
    parse: parseCidrList,
  }),
  retrySchedule: setting({
    name: 'HOOKLINE_RETRY_SCHEDULE',
    unit: 'comma-separated durations',
    defaultText: '10s,1m,5m,30m,1h,2h,5h,10h,14h,20h,24h',
    description:
      'Delay before each retry of a failed delivery. The number of entries is the number of retries, so a delivery gets one more attempt than there are entries. Each delay is spread by up to 20% of jitter.',
    parse: parseRetrySchedule,
  }),
  requestTimeout: setting({
    name: 'HOOKLINE_REQUEST_TIMEOUT',
    unit: 'duration',
    defaultText: '15s',
    description:
      'Deadline of one delivery attempt, covering connect, response headers and the response body together.',
    parse: parseDurationBetween(100, 300_000),
  }),
  logLevel: setting({
    name: 'HOOKLINE_LOG_LEVEL',
    unit: logLevels.join(' | '),
    defaultText: 'info',
    description: 'Minimum severity of the lines that are logged.',
    parse: (text): LogLevel => {
      const level = text.trim().toLowerCase();
      if (!(logLevels as readonly string[]).includes(level)) {
        throw new Error(`expected one of ${logLevels.join(', ')}`);
      }
      return level as LogLevel;
    },
  }),
  workerConcurrency: setting({
    name: 'HOOKLINE_WORKER_CONCURRENCY',
    unit: 'jobs',
    defaultText: '64',
    description:
      'Delivery attempts one process runs at the same time. Attempts wait on the network, so this can be far above the number of cores.',
    parse: parseInteger(1, 10_000),
  }),
  queueLease: setting({
    name: 'HOOKLINE_QUEUE_LEASE',
    unit: 'duration',
    defaultText: '60s',
    description:
      'How long a claimed job belongs to the process that claimed it. A job whose process died runs again once its lease ends. Must be longer than HOOKLINE_REQUEST_TIMEOUT.',
    parse: parseDurationBetween(1_000, 3_600_000),
  }),
  queuePollInterval: setting({
    name: 'HOOKLINE_QUEUE_POLL_INTERVAL',
    unit: 'duration',
    defaultText: '1s',
    description:
      'How often the queue looks for due jobs when nothing woke it: the embedded queue in its table, and in the scaled mode the outbox relay in the outbox and each worker in the set of jobs scheduled for later. Jobs added or scheduled by this process start on time without waiting for a poll.',
    parse: parseDurationBetween(10, 60_000),
  }),
  recoveryInterval: setting({
    name: 'HOOKLINE_RECOVERY_INTERVAL',
    unit: 'duration',
    defaultText: '30s',
    description:
      'Scaled mode: how often a worker looks for messages and deliveries whose queue job was lost (for example when Redis restarted without persistence) and queues them again. One worker sweeps at a time.',
    parse: parseDurationBetween(1_000, 3_600_000),
  }),
  recoveryGrace: setting({
    name: 'HOOKLINE_RECOVERY_GRACE',
    unit: 'duration',
    defaultText: '5m',
    description:
      'Scaled mode: how overdue a fan-out or a delivery attempt must be before the recovery sweep queues it again. Must be longer than HOOKLINE_QUEUE_LEASE, so that the jobs of a worker that died are first returned by the queue itself.',
    parse: parseDurationBetween(1_000, 86_400_000),
  }),
  maxPayloadSize: setting({
    name: 'HOOKLINE_MAX_PAYLOAD_SIZE',
    unit: 'bytes',
    defaultText: '1048576',
    description: 'Largest accepted request body. Larger requests get 413.',
    parse: parseInteger(1024, 64 * 1024 * 1024),
  }),
  maxResponseBodySize: setting({
    name: 'HOOKLINE_MAX_RESPONSE_BODY_SIZE',
    unit: 'bytes',
    defaultText: '65536',
    description: 'Part of an endpoint\'s response body that is read and stored with the attempt; the rest is dropped.',
    parse: parseInteger(0, 16 * 1024 * 1024),
  }),
  publicUrl: setting({
    name: 'HOOKLINE_PUBLIC_URL',
    unit: 'URL',
    defaultText: undefined,
    description:
      'Address under which users reach this server, used in links that Hookline hands out. Defaults to http://HOST:PORT.',
    parse: parseUrl(['http:', 'https:']),
  }),
  shutdownTimeout: setting({
    name: 'HOOKLINE_SHUTDOWN_TIMEOUT',
    unit: 'duration',
    defaultText: '20s',
    description:
      'On SIGINT or SIGTERM, how long in-flight attempts may take to finish. Jobs still running then go back to the queue.',
    parse: parseDurationBetween(0, 600_000),
  }),
  devAllowLoopback: setting({
    name: 'HOOKLINE_ALLOW_LOOPBACK',
    unit: 'boolean',
    defaultText: 'false',
    description:
      'Shortcut for local development: lets deliveries reach 127.0.0.0/8 and ::1, as if both were listed in HOOKLINE_ALLOW_PRIVATE_NETWORKS.',
    parse: parseBoolean,
  }),
  encryptionKey: setting({
    name: 'HOOKLINE_ENCRYPTION_KEY',
    unit: '32 bytes in base64 or hex; a comma-separated list while changing keys',
    defaultText: undefined,
    description:
      'Key that encrypts endpoint signing secrets in the database with AES-256-GCM. Generate one with `openssl rand -base64 32`. Every API and worker process needs the same value. Start-up encrypts secrets stored before the key was set. To change the key, list the new key first and the old one after it: start-up encrypts every secret with the new key again, after which the old key may be removed. When unset, secrets are stored as plain text, and start-up stops if the database contains encrypted secrets.',
    parse: parseEncryptionKeys,
  }),
  proxyUrl: setting({
    name: 'HOOKLINE_PROXY_URL',
    unit: 'URL',
    defaultText: undefined,
    description:
      'HTTP proxy that every delivery goes through, such as http://proxy.internal:3128, so that endpoints see the proxy\'s static source address. Hookline still resolves and checks each endpoint\'s address itself and asks the proxy to connect to that checked address. Credentials in the URL are sent to the proxy as basic authentication.',
    parse: parseUrl(['http:', 'https:']),
  }),
  disableAfter: setting({
    name: 'HOOKLINE_DISABLE_AFTER',
    unit: 'duration',
    defaultText: '5d',
    description:
      'How long an endpoint may fail without a single success before it is disabled and an endpoint.disabled operational webhook is sent. Counted from the first failure after the last success.',
    parse: parseDurationBetween(60_000, 365 * 86_400_000),
  }),
  breakerThreshold: setting({
    name: 'HOOKLINE_BREAKER_THRESHOLD',
    unit: 'failures',
    defaultText: '10',
    description:
      'Consecutive failed attempts to one endpoint, over all its deliveries and workers, that open its circuit breaker. While the breaker is open, the endpoint\'s due deliveries are postponed without spending attempts.',
    parse: parseInteger(1, 1_000_000),
  }),
  breakerCooldown: setting({
    name: 'HOOKLINE_BREAKER_COOLDOWN',
    unit: 'duration',
    defaultText: '30s',
    description:
      'How long an opened circuit breaker waits before one probe attempt tests the endpoint. Each failed probe doubles the wait, up to HOOKLINE_BREAKER_MAX_COOLDOWN; a successful probe closes the breaker.',
    parse: parseDurationBetween(10, 86_400_000),
  }),
  breakerMaxCooldown: setting({
    name: 'HOOKLINE_BREAKER_MAX_COOLDOWN',
    unit: 'duration',
    defaultText: '10m',
    description: 'Maximum wait between two probes of an endpoint whose circuit breaker is open.',
    parse: parseDurationBetween(10, 7 * 86_400_000),
  }),
  maxRetryAfter: setting({
    name: 'HOOKLINE_MAX_RETRY_AFTER',
    unit: 'duration',
    defaultText: '1h',
    description:
      'Longest Retry-After that Hookline honours from a 429, 502, 503 or 504 response. Longer values, in seconds or as an HTTP date, are cut to this.',
    parse: parseDurationBetween(0, 7 * 86_400_000),
  }),
  endpointConcurrency: setting({
    name: 'HOOKLINE_ENDPOINT_CONCURRENCY',
    unit: 'attempts',
    defaultText: undefined,
    description:
      'Attempts that one process runs at the same time to an endpoint that has not responded there yet, or whose latest attempt there timed out. Further due deliveries of that endpoint are postponed briefly instead of waiting in a worker slot, so a hanging endpoint never takes every slot, not even before its first timeout. Endpoints that respond, even with errors, are not capped. Defaults to an eighth of HOOKLINE_WORKER_CONCURRENCY, at least 1.',
    parse: parseInteger(1, 10_000),
  }),
  streamHeartbeat: setting({
    name: 'HOOKLINE_STREAM_HEARTBEAT',
    unit: 'duration',
    defaultText: '15s',
    description:
      'Maximum silence on an event stream (GET /api/v1/app/{app_id}/events/stream) before the server writes a comment line, so proxies and clients can tell an idle stream from a dead connection.',
    parse: parseDurationBetween(100, 300_000),
  }),
  logFormat: setting({
    name: 'HOOKLINE_LOG_FORMAT',
    unit: 'json | pretty',
    defaultText: undefined,
    description:
      'Format of the log lines on stdout: one JSON object per line, or coloured lines for a terminal. Defaults to pretty when stdout is a terminal and json otherwise. HOOKLINE_LOG_FILE always receives JSON.',
    parse: (text): LogFormat => {
      const format = text.trim().toLowerCase();
      if (format !== 'json' && format !== 'pretty') {
        throw new Error('expected json or pretty');
      }
      return format;
    },
  }),
  logFile: setting({
    name: 'HOOKLINE_LOG_FILE',
    unit: 'path',
    defaultText: undefined,
    description:
      'File that receives every log line as JSON, in addition to stdout. Lines are appended; the folder is created when missing. Rotate it with a tool that copies and truncates, such as logrotate with copytruncate.',
    parse: (text) => {
      if (text.trim() === '') {
        throw new Error('expected a file path');
      }
      return text;
    },
  }),
  retentionDays: setting({
    name: 'HOOKLINE_RETENTION_DAYS',
    unit: 'days',
    defaultText: '90',
    description:
      'How long message payloads and attempt response bodies are kept. A background job then replaces them by an empty value; messages and attempts stay as metadata. A message\'s payloadRetentionPeriod can shorten this for that message, never lengthen it.',
    parse: parseInteger(1, 36_500),
  }),
  retentionInterval: setting({
    name: 'HOOKLINE_RETENTION_INTERVAL',
    unit: 'duration',
    defaultText: '10m',
    description:
      'How often a worker process runs the retention job, which expunges expired payloads and response bodies in batches of 500 and deletes expired statistics and idempotency keys.',
    parse: parseDurationBetween(1_000, 86_400_000),
  }),
  metrics: setting({
    name: 'HOOKLINE_METRICS',
    unit: 'boolean',
    defaultText: 'on',
    description:
      'Serve Prometheus metrics at /metrics and count them as the process works. Off removes the route and the counting.',
    parse: parseBoolean,
  }),
  stats: setting({
    name: 'HOOKLINE_STATS',
    unit: 'boolean',
    defaultText: 'on',
    description:
      'Keep delivery statistics in the store (attempt counts and latency per endpoint in minute, hour and day buckets) for the statistics routes and the portal. Off stops recording; the routes then return what was recorded before.',
    parse: parseBoolean,
  }),
  workerPort: setting({
    name: 'HOOKLINE_WORKER_PORT',
    unit: 'TCP port',
    defaultText: undefined,
    description:
      'Port on which a `hookline worker` process serves /metrics, /healthz and /readyz, on HOOKLINE_HOST. Unset, a worker listens on no port. Processes that run the API serve these routes on HOOKLINE_PORT instead.',
    parse: parseInteger(0, 65535),
  }),
} as const;

export type Settings = typeof settings;
export type SettingKey = keyof Settings;
