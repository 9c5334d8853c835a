import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, type Config, unknownSettings } from '../../src/config/load.js';
import { settings } from '../../src/config/schema.js';

/** The value of every setting when its variable is unset. */
const expectedDefaults: Config = {
  host: '127.0.0.1',
  port: 8071,
  dataDir: './data',
  databaseUrl: undefined,
  databasePoolSize: 10,
  redisUrl: undefined,
  eventsRedisUrl: undefined,
  webhooksRedisUrl: undefined,
  redisPrefix: 'hookline',
  adminToken: undefined,
  allowPrivateNetworks: [],
  retrySchedule: [10_000, 60_000, 300_000, 1_800_000, 3_600_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
  requestTimeout: 15_000,
  logLevel: 'info',
  workerConcurrency: 64,
  queueLease: 60_000,
  queuePollInterval: 1_000,
  recoveryInterval: 30_000,
  recoveryGrace: 300_000,
  maxPayloadSize: 1_048_576,
  maxResponseBodySize: 65_536,
  publicUrl: undefined,
  shutdownTimeout: 20_000,
  devAllowLoopback: false,
  encryptionKey: undefined,
  proxyUrl: undefined,
  disableAfter: 432_000_000,
  breakerThreshold: 10,
  breakerCooldown: 30_000,
  breakerMaxCooldown: 600_000,
  maxRetryAfter: 3_600_000,
  endpointConcurrency: undefined,
  streamHeartbeat: 15_000,
  logFormat: undefined,
  logFile: undefined,
  retentionDays: 90,
  retentionInterval: 600_000,
  metrics: true,
  stats: true,
  workerPort: undefined,
};

// Encryption keys of the tests: counting bytes, obviously not real keys.
const hexKey = Buffer.from(Array.from({ length: 32 }, (_, index) => index)).toString('hex');
const base64Key = Buffer.from(Array.from({ length: 32 }, (_, index) => 32 + index)).toString('base64');

/** Accepted values: variables to set, the setting they fill, and its parsed value. */
const validCases: [environment: Record<string, string>, key: keyof Config, expected: unknown][] = [
  [{ HOOKLINE_HOST: '0.0.0.0' }, 'host', '0.0.0.0'],
  [{ HOOKLINE_HOST: ' ::1 ' }, 'host', '::1'],
  [{ HOOKLINE_PORT: '0' }, 'port', 0],
  [{ HOOKLINE_PROXY_URL: 'http://127.0.0.1:3128' }, 'proxyUrl', 'http://127.0.0.1:3128'],
  [{ HOOKLINE_DISABLE_AFTER: '2h' }, 'disableAfter', 7_200_000],
  [{ HOOKLINE_BREAKER_THRESHOLD: '3' }, 'breakerThreshold', 3],
  [{ HOOKLINE_BREAKER_COOLDOWN: '500ms' }, 'breakerCooldown', 500],
  [{ HOOKLINE_BREAKER_MAX_COOLDOWN: '1h' }, 'breakerMaxCooldown', 3_600_000],
  [{ HOOKLINE_MAX_RETRY_AFTER: '0' }, 'maxRetryAfter', 0],
  [{ HOOKLINE_ENDPOINT_CONCURRENCY: '4' }, 'endpointConcurrency', 4],
  [{ HOOKLINE_LOG_FORMAT: 'Pretty' }, 'logFormat', 'pretty'],
  [{ HOOKLINE_LOG_FILE: '/var/log/hookline.log' }, 'logFile', '/var/log/hookline.log'],
  [{ HOOKLINE_RETENTION_DAYS: '30' }, 'retentionDays', 30],
  [{ HOOKLINE_RETENTION_INTERVAL: '1h' }, 'retentionInterval', 3_600_000],
  [{ HOOKLINE_METRICS: 'off' }, 'metrics', false],
  [{ HOOKLINE_STATS: 'off' }, 'stats', false],
  [{ HOOKLINE_WORKER_PORT: '9464' }, 'workerPort', 9464],
  [{ HOOKLINE_PORT: '65535' }, 'port', 65_535],
  [{ HOOKLINE_DATA_DIR: '/var/lib/hookline' }, 'dataDir', '/var/lib/hookline'],
  [{ DATABASE_URL: 'sqlite:/tmp/hookline.db' }, 'databaseUrl', 'sqlite:/tmp/hookline.db'],
  [{ DATABASE_URL: 'postgres://hookline@127.0.0.1:5432/test' }, 'databaseUrl', 'postgres://hookline@127.0.0.1:5432/test'],
  [{ DATABASE_URL: 'postgresql://127.0.0.1/test' }, 'databaseUrl', 'postgresql://127.0.0.1/test'],
  [{ HOOKLINE_DATABASE_POOL_SIZE: '1' }, 'databasePoolSize', 1],
  [{ HOOKLINE_DATABASE_POOL_SIZE: '1000' }, 'databasePoolSize', 1_000],
  [{ REDIS_URL: 'redis://127.0.0.1:6379' }, 'redisUrl', 'redis://127.0.0.1:6379'],
  [{ REDIS_URL: 'rediss://127.0.0.1:6380/2' }, 'redisUrl', 'rediss://127.0.0.1:6380/2'],
  [
    { HOOKLINE_EVENTS_REDIS_URL: 'redis://127.0.0.1:6379/1', HOOKLINE_WEBHOOKS_REDIS_URL: 'redis://127.0.0.1:6379/2' },
    'eventsRedisUrl',
    'redis://127.0.0.1:6379/1',
  ],
  [
    { HOOKLINE_EVENTS_REDIS_URL: 'redis://127.0.0.1:6379/1', HOOKLINE_WEBHOOKS_REDIS_URL: 'redis://127.0.0.1:6379/2' },
    'webhooksRedisUrl',
    'redis://127.0.0.1:6379/2',
  ],
  [{ REDIS_URL: 'redis://127.0.0.1:6379', HOOKLINE_EVENTS_REDIS_URL: 'redis://127.0.0.1:6379/1' }, 'eventsRedisUrl', 'redis://127.0.0.1:6379/1'],
  [{ HOOKLINE_REDIS_PREFIX: 'staging:hookline-2' }, 'redisPrefix', 'staging:hookline-2'],
  [{ HOOKLINE_ADMIN_TOKEN: 'a'.repeat(24) }, 'adminToken', 'a'.repeat(24)],
  [{ HOOKLINE_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8, ::1/128' }, 'allowPrivateNetworks', ['127.0.0.0/8', '::1/128']],
  [{ HOOKLINE_ALLOW_PRIVATE_NETWORKS: '10.0.0.0/8,fd00::/8' }, 'allowPrivateNetworks', ['10.0.0.0/8', 'fd00::/8']],
  [{ HOOKLINE_RETRY_SCHEDULE: '10s,1m' }, 'retrySchedule', [10_000, 60_000]],
  [{ HOOKLINE_RETRY_SCHEDULE: '250ms, 2h, 1d' }, 'retrySchedule', [250, 7_200_000, 86_400_000]],
  [{ HOOKLINE_RETRY_SCHEDULE: '5' }, 'retrySchedule', [5_000]],
  [{ HOOKLINE_REQUEST_TIMEOUT: '100ms' }, 'requestTimeout', 100],
  [{ HOOKLINE_REQUEST_TIMEOUT: '59s' }, 'requestTimeout', 59_000],
  [{ HOOKLINE_LOG_LEVEL: 'warn' }, 'logLevel', 'warn'],
  [{ HOOKLINE_LOG_LEVEL: 'DEBUG' }, 'logLevel', 'debug'],
  [{ HOOKLINE_LOG_LEVEL: 'silent' }, 'logLevel', 'silent'],
  [{ HOOKLINE_WORKER_CONCURRENCY: '1' }, 'workerConcurrency', 1],
  [{ HOOKLINE_WORKER_CONCURRENCY: '10000' }, 'workerConcurrency', 10_000],
  [{ HOOKLINE_QUEUE_LEASE: '1h', HOOKLINE_RECOVERY_GRACE: '2h' }, 'queueLease', 3_600_000],
  [{ HOOKLINE_QUEUE_LEASE: '20s', HOOKLINE_REQUEST_TIMEOUT: '10s' }, 'queueLease', 20_000],
  [{ HOOKLINE_QUEUE_POLL_INTERVAL: '10ms' }, 'queuePollInterval', 10],
  [{ HOOKLINE_QUEUE_POLL_INTERVAL: '1m' }, 'queuePollInterval', 60_000],
  [{ HOOKLINE_RECOVERY_INTERVAL: '5s' }, 'recoveryInterval', 5_000],
  [{ HOOKLINE_RECOVERY_GRACE: '10m' }, 'recoveryGrace', 600_000],
  [{ HOOKLINE_MAX_PAYLOAD_SIZE: '1024' }, 'maxPayloadSize', 1_024],
  [{ HOOKLINE_MAX_PAYLOAD_SIZE: String(64 * 1024 * 1024) }, 'maxPayloadSize', 64 * 1024 * 1024],
  [{ HOOKLINE_MAX_RESPONSE_BODY_SIZE: '0' }, 'maxResponseBodySize', 0],
  [{ HOOKLINE_PUBLIC_URL: 'https://hooks.example.com/base' }, 'publicUrl', 'https://hooks.example.com/base'],
  [{ HOOKLINE_SHUTDOWN_TIMEOUT: '0' }, 'shutdownTimeout', 0],
  [{ HOOKLINE_SHUTDOWN_TIMEOUT: '10m' }, 'shutdownTimeout', 600_000],
  [{ HOOKLINE_ALLOW_LOOPBACK: 'true' }, 'devAllowLoopback', true],
  [{ HOOKLINE_ALLOW_LOOPBACK: 'YES' }, 'devAllowLoopback', true],
  [{ HOOKLINE_ALLOW_LOOPBACK: '1' }, 'devAllowLoopback', true],
  [{ HOOKLINE_ALLOW_LOOPBACK: 'off' }, 'devAllowLoopback', false],
  [{ HOOKLINE_ENCRYPTION_KEY: hexKey }, 'encryptionKey', [Buffer.from(hexKey, 'hex')]],
  [{ HOOKLINE_ENCRYPTION_KEY: base64Key }, 'encryptionKey', [Buffer.from(base64Key, 'base64')]],
  [{ HOOKLINE_ENCRYPTION_KEY: ` ${base64Key} , ${hexKey}` }, 'encryptionKey', [Buffer.from(base64Key, 'base64'), Buffer.from(hexKey, 'hex')]],
  [{ HOOKLINE_STREAM_HEARTBEAT: '100ms' }, 'streamHeartbeat', 100],
  [{ HOOKLINE_STREAM_HEARTBEAT: '5m' }, 'streamHeartbeat', 300_000],
];

/** Rejected values, each of which must stop start-up with an error naming its variable. */
const invalidCases: [name: string, value: string][] = [
  ['HOOKLINE_HOST', '   '],
  ['HOOKLINE_PROXY_URL', 'socks5://127.0.0.1:1080'],
  ['HOOKLINE_DISABLE_AFTER', '10s'],
  ['HOOKLINE_BREAKER_THRESHOLD', '0'],
  ['HOOKLINE_BREAKER_COOLDOWN', 'soon'],
  ['HOOKLINE_BREAKER_MAX_COOLDOWN', '30d'],
  ['HOOKLINE_MAX_RETRY_AFTER', '-1s'],
  ['HOOKLINE_ENDPOINT_CONCURRENCY', '0'],
  ['HOOKLINE_PORT', 'abc'],
  ['HOOKLINE_PORT', '65536'],
  ['HOOKLINE_PORT', '-1'],
  ['HOOKLINE_PORT', '80.5'],
  ['HOOKLINE_LOG_FORMAT', 'xml'],
  ['HOOKLINE_LOG_FILE', '   '],
  ['HOOKLINE_RETENTION_INTERVAL', '10ms'],
  ['HOOKLINE_WORKER_PORT', '70000'],
  ['HOOKLINE_RETENTION_DAYS', '0'],
  ['HOOKLINE_METRICS', 'maybe'],
  ['HOOKLINE_STATS', 'maybe'],
  ['HOOKLINE_DATA_DIR', '  '],
  ['DATABASE_URL', 'mysql://127.0.0.1/hookline'],
  ['DATABASE_URL', 'sqlite:'],
  ['HOOKLINE_DATABASE_POOL_SIZE', '0'],
  ['HOOKLINE_DATABASE_POOL_SIZE', '1001'],
  ['REDIS_URL', 'http://127.0.0.1:6379'],
  ['REDIS_URL', 'not a url'],
  ['HOOKLINE_EVENTS_REDIS_URL', 'tcp://127.0.0.1:6379'],
  ['HOOKLINE_WEBHOOKS_REDIS_URL', 'tcp://127.0.0.1:6379'],
  ['HOOKLINE_REDIS_PREFIX', 'has space'],
  ['HOOKLINE_REDIS_PREFIX', 'p'.repeat(65)],
  ['HOOKLINE_ADMIN_TOKEN', 'short'],
  ['HOOKLINE_ADMIN_TOKEN', 'twenty-four characters and spaces'],
  ['HOOKLINE_ALLOW_PRIVATE_NETWORKS', '999.1.1.1/8'],
  ['HOOKLINE_ALLOW_PRIVATE_NETWORKS', '10.0.0.0/33'],
  ['HOOKLINE_ALLOW_PRIVATE_NETWORKS', '10.0.0.0'],
  ['HOOKLINE_ALLOW_PRIVATE_NETWORKS', 'fd00::/129'],
  ['HOOKLINE_ALLOW_PRIVATE_NETWORKS', ':::/8'],
  ['HOOKLINE_ALLOW_PRIVATE_NETWORKS', '10.1/16'],
  ['HOOKLINE_RETRY_SCHEDULE', '10x'],
  ['HOOKLINE_RETRY_SCHEDULE', '10s,,soon'],
  ['HOOKLINE_RETRY_SCHEDULE', ','],
  ['HOOKLINE_REQUEST_TIMEOUT', '0'],
  ['HOOKLINE_REQUEST_TIMEOUT', '6m'],
  ['HOOKLINE_REQUEST_TIMEOUT', 'fast'],
  ['HOOKLINE_LOG_LEVEL', 'loud'],
  ['HOOKLINE_WORKER_CONCURRENCY', '0'],
  ['HOOKLINE_WORKER_CONCURRENCY', '10001'],
  ['HOOKLINE_QUEUE_LEASE', '500ms'],
  ['HOOKLINE_QUEUE_LEASE', '2h'],
  ['HOOKLINE_QUEUE_POLL_INTERVAL', '5ms'],
  ['HOOKLINE_QUEUE_POLL_INTERVAL', '2m'],
  ['HOOKLINE_RECOVERY_INTERVAL', '10ms'],
  ['HOOKLINE_RECOVERY_GRACE', 'soon'],
  ['HOOKLINE_MAX_PAYLOAD_SIZE', '1023'],
  ['HOOKLINE_MAX_PAYLOAD_SIZE', '1MB'],
  ['HOOKLINE_MAX_RESPONSE_BODY_SIZE', '-1'],
  ['HOOKLINE_MAX_RESPONSE_BODY_SIZE', String(16 * 1024 * 1024 + 1)],
  ['HOOKLINE_PUBLIC_URL', 'ftp://hooks.example.com'],
  ['HOOKLINE_PUBLIC_URL', 'hooks.example.com'],
  ['HOOKLINE_SHUTDOWN_TIMEOUT', '11m'],
  ['HOOKLINE_ALLOW_LOOPBACK', 'maybe'],
  ['HOOKLINE_ENCRYPTION_KEY', 'short-key'],
  ['HOOKLINE_ENCRYPTION_KEY', hexKey.slice(2)],
  ['HOOKLINE_ENCRYPTION_KEY', Buffer.alloc(16, 7).toString('base64')],
  ['HOOKLINE_ENCRYPTION_KEY', `${hexKey},${hexKey}`],
  ['HOOKLINE_ENCRYPTION_KEY', ','],
  ['HOOKLINE_STREAM_HEARTBEAT', '99ms'],
  ['HOOKLINE_STREAM_HEARTBEAT', '6m'],
  ['HOOKLINE_STREAM_HEARTBEAT', 'often'],
];

/** Calls loadConfig and returns the ConfigError it must throw. */
function configError(environment: Record<string, string>): ConfigError {
  try {
    loadConfig(environment);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(environment)}`);
}

describe('loadConfig defaults', () => {
  test('unset variables give the defaults', () => {
    assert.deepEqual({ ...loadConfig({}) }, expectedDefaults);
  });

  test('empty variables count as unset', () => {
    const environment = Object.fromEntries(Object.values(settings).map((definition) => [definition.name, '']));

    assert.deepEqual({ ...loadConfig(environment) }, expectedDefaults);
  });

  test('every setting has an expected default', () => {
    assert.deepEqual(Object.keys(settings).sort(), Object.keys(expectedDefaults).sort());
  });

  test('every default parses', () => {
    for (const definition of Object.values(settings)) {
      if (definition.defaultText !== undefined) {
        assert.doesNotThrow(() => definition.parse(definition.defaultText as string), definition.name);
      }
    }
  });
});

describe('loadConfig valid values', () => {
  for (const [environment, key, expected] of validCases) {
    test(`${Object.entries(environment).map(([name, value]) => `${name}=${value}`).join(' ')} sets ${key}`, () => {
      const config = loadConfig(environment);

      assert.deepEqual(config[key], expected);
    });
  }

  test('every variable has a valid case', () => {
    const covered = new Set(validCases.flatMap(([environment]) => Object.keys(environment)));

    for (const definition of Object.values(settings)) {
      assert.ok(covered.has(definition.name), `no valid case for ${definition.name}`);
    }
  });

  test('overrides replace variables', () => {
    const config = loadConfig({ HOOKLINE_PORT: '9000' }, { port: 0, logLevel: 'error' });

    assert.equal(config.port, 0);
    assert.equal(config.logLevel, 'error');
  });

  test('result is frozen', () => {
    const config = loadConfig({ HOOKLINE_RETRY_SCHEDULE: '1s' });

    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.retrySchedule));
    assert.ok(Object.isFrozen(config.allowPrivateNetworks));
  });
});

describe('loadConfig invalid values', () => {
  for (const [name, value] of invalidCases) {
    test(`${name}=${JSON.stringify(value)} is rejected`, () => {
      const error = configError({ [name]: value });

      assert.equal(error.problems.length, 1);
      assert.match(error.problems[0] ?? '', new RegExp(`^${name}=`));
      assert.match(error.message, new RegExp(`\\b${name}\\b`));
    });
  }

  test('every variable has an invalid case', () => {
    const covered = new Set(invalidCases.map(([name]) => name));

    for (const definition of Object.values(settings)) {
      assert.ok(covered.has(definition.name), `no invalid case for ${definition.name}`);
    }
  });

  test('message shows the value and what is expected', () => {
    const error = configError({ HOOKLINE_PORT: 'abc' });

    assert.equal(error.problems[0], 'HOOKLINE_PORT="abc" is invalid: expected a whole number from 0 to 65535.');
  });

  test('every invalid variable is named', () => {
    const error = configError({ HOOKLINE_PORT: 'abc', HOOKLINE_LOG_LEVEL: 'loud', HOOKLINE_RETRY_SCHEDULE: '10x' });

    assert.equal(error.problems.length, 3);
    assert.match(error.message, /HOOKLINE_PORT/);
    assert.match(error.message, /HOOKLINE_LOG_LEVEL/);
    assert.match(error.message, /HOOKLINE_RETRY_SCHEDULE/);
  });

  test('admin token value is not shown', () => {
    for (const token of ['sh0rt-t0ken-value', 'twenty-four characters and spaces']) {
      const error = configError({ HOOKLINE_ADMIN_TOKEN: token });

      assert.match(error.message, /HOOKLINE_ADMIN_TOKEN/);
      assert.ok(!error.message.includes(token), `the message shows the token: ${error.message}`);
    }
  });

  test('encryption key value is not shown', () => {
    const value = `${hexKey.slice(4)}zz`;
    const error = configError({ HOOKLINE_ENCRYPTION_KEY: value });

    assert.match(error.message, /HOOKLINE_ENCRYPTION_KEY=\(value hidden\) is invalid: the key is not 32 bytes in base64/);
    assert.ok(!error.message.includes(value), `the message shows the key: ${error.message}`);
  });

  test('URL with a password is not shown', () => {
    const error = configError({ DATABASE_URL: 'mysql://hookline:hunter2-password@127.0.0.1/hookline' });

    assert.match(error.message, /DATABASE_URL/);
    assert.ok(!error.message.includes('hunter2-password'), `the message shows the password: ${error.message}`);
  });

  test('queue lease not above request timeout', () => {
    const error = configError({ HOOKLINE_QUEUE_LEASE: '15s', HOOKLINE_REQUEST_TIMEOUT: '15s' });

    assert.equal(error.problems.length, 1);
    assert.match(error.message, /HOOKLINE_QUEUE_LEASE/);
    assert.match(error.message, /HOOKLINE_REQUEST_TIMEOUT/);
  });

  test('recovery grace not above queue lease', () => {
    const error = configError({ HOOKLINE_QUEUE_LEASE: '10m', HOOKLINE_RECOVERY_GRACE: '5m' });

    assert.equal(error.problems.length, 1);
    assert.match(error.message, /HOOKLINE_RECOVERY_GRACE/);
    assert.match(error.message, /HOOKLINE_QUEUE_LEASE/);
  });

  test('one per-queue Redis URL without REDIS_URL', () => {
    const error = configError({ HOOKLINE_EVENTS_REDIS_URL: 'redis://127.0.0.1:6379/1' });

    assert.equal(error.problems.length, 1);
    assert.match(error.message, /HOOKLINE_WEBHOOKS_REDIS_URL/);
  });
});

describe('unknownSettings', () => {
  test('names misspelt variables with the closest setting', () => {
    const found = unknownSettings({
      HOOKLINE_PUBLICURL: 'http://localhost',
      HOOKLINE_ALLOW_LOCALHOST: 'true',
      HOOKLINE_PORT: '8071',
      HOOKLINE_URL: 'http://127.0.0.1:8071',
      HOOKLINE_TOKEN: 'not-a-real-token',
      OTHER_VARIABLE: 'x',
    });
    assert.deepEqual(found, [
      { name: 'HOOKLINE_ALLOW_LOCALHOST' },
      { name: 'HOOKLINE_PUBLICURL', closest: 'HOOKLINE_PUBLIC_URL' },
    ]);
  });
});
