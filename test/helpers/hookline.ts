import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startHookline, type Hookline, type HooklineOptions, type Roles } from '../../src/app/hookline.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import pg from 'pg';
import { createLogger } from '../../src/observability/logger.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from './redis.js';
import { dropSchema, testDatabaseUrl } from './store.js';

/** Admin token of test servers; obviously not a real secret. */
export const testAdminToken = 'test-admin-token-0000000000000000';

export interface TestHookline extends Hookline {
  url: string;
  dataDir: string;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  /** Sends a request with the admin token and returns status and parsed JSON body. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** Stops the server and deletes its data folder. */
  destroy(): Promise<void>;
}

/**
 * Starts Hookline in this process on a free loopback port with a new data folder, loopback
 * deliveries allowed, a compressed retry schedule and a circuit breaker threshold out of
 * reach, unless `overrides` set them otherwise. `options.clock` replaces the system clock,
 * for tests of expiry, and `options.lookup` replaces the DNS resolver of deliveries.
 */
export async function startTestHookline(
  overrides: Partial<Config> = {},
  roles: Roles = { api: true, worker: true },
  mode: 'embedded' | 'scaled' = 'embedded',
  options: Pick<HooklineOptions, 'clock' | 'lookup'> = {},
): Promise<TestHookline> {
  const scaled = mode === 'scaled' ? await prepareScaledBackends() : undefined;
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'hookline-test-'));
  const config = loadConfig(
    {},
    {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: testAdminToken,
      devAllowLoopback: true,
      retrySchedule: [50, 100, 200],
      // Failing endpoints in tests would open the breaker within a few attempts and slow
      // their retries down, so tests of the breaker lower this themselves.
      breakerThreshold: 1_000,
      requestTimeout: 2_000,
      queueLease: 10_000,
      queuePollInterval: 100,
      logLevel: 'debug',
      shutdownTimeout: 2_000,
      ...(scaled ? { databaseUrl: scaled.databaseUrl, redisUrl: testRedisUrl, redisPrefix: scaled.redisPrefix } : {}),
      ...overrides,
    },
  );

  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        }
      }
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, pretty: false, destination });
  const hookline = await startHookline({
    config,
    logger,
    roles,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  const url = hookline.url ?? '';

  return {
    ...hookline,
    url,
    dataDir,
    logs,
    async request(method, path, body, headers = {}) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${testAdminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: encodeBody(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // Non-JSON bodies are returned as text.
      }
      return { status: response.status, body: parsed };
    },
    async destroy() {
      await hookline.close();
      if (overrides.dataDir === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
      }
      await scaled?.cleanup();
    },
  };
}

/**
 * Creates a PostgreSQL schema and a Redis key prefix of their own for one scaled-mode
 * test server, and returns the URL that selects the schema.
 */
export async function prepareScaledBackends(): Promise<{ databaseUrl: string; redisPrefix: string; cleanup(): Promise<void> }> {
  const schema = `hookline_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }
  const url = new URL(testDatabaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const redisPrefix = uniquePrefix().slice(0, -1);
  return {
    databaseUrl: url.toString(),
    redisPrefix,
    async cleanup() {
      await dropSchema(schema);
      await deleteKeys(`${redisPrefix}:`);
    },
  };
}

/** Sends strings as they are and other values as JSON. */
function encodeBody(body: unknown): string | undefined {
  if (body === undefined || typeof body === 'string') {
    return body;
  }
  return JSON.stringify(body);
}

/** Polls `condition` every 20 ms until it returns true, or throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}
