import { settings, type LogFormat, type LogLevel, type Setting } from './schema.js';

/** The validated, frozen configuration that every module receives its part of. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  redisUrl: string | undefined;
  eventsRedisUrl: string | undefined;
  webhooksRedisUrl: string | undefined;
  redisPrefix: string;
  adminToken: string | undefined;
  allowPrivateNetworks: readonly string[];
  retrySchedule: readonly number[];
  requestTimeout: number;
  logLevel: LogLevel;
  workerConcurrency: number;
  queueLease: number;
  queuePollInterval: number;
  recoveryInterval: number;
  recoveryGrace: number;
  maxPayloadSize: number;
  maxResponseBodySize: number;
  publicUrl: string | undefined;
  shutdownTimeout: number;
  devAllowLoopback: boolean;
  /** AES-256 keys for secrets at rest: the first encrypts, all decrypt. Undefined stores secrets as plain text. */
  encryptionKey: readonly Buffer[] | undefined;
  proxyUrl: string | undefined;
  disableAfter: number;
  breakerThreshold: number;
  breakerCooldown: number;
  breakerMaxCooldown: number;
  maxRetryAfter: number;
  endpointConcurrency: number | undefined;
  streamHeartbeat: number;
  logFormat: LogFormat | undefined;
  logFile: string | undefined;
  retentionDays: number;
  retentionInterval: number;
  metrics: boolean;
  stats: boolean;
  workerPort: number | undefined;
}

/** A configuration problem, naming every invalid variable. Start-up prints it and exits. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function read<T>(definition: Setting<T>, environment: NodeJS.ProcessEnv, problems: string[]): T | undefined {
  const raw = environment[definition.name];
  const text = raw === undefined || raw === '' ? definition.defaultText : raw;
  if (text === undefined) {
    return undefined;
  }

  try {
    return definition.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // Tokens, keys and URLs (which may carry a password) are never echoed.
    const shown = /TOKEN|KEY|_URL$/.test(definition.name) ? '(value hidden)' : JSON.stringify(text);
    problems.push(`${definition.name}=${shown} is invalid: ${reason}.`);
    return undefined;
  }
}

/**
 * Parses and validates the configuration from environment variables.
 * `overrides` replace variables, so tests and the CLI can set values without touching process.env.
 * Throws ConfigError naming every invalid variable.
 */
export function loadConfig(
  environment: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {},
): Readonly<Config> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(settings)) {
    values[key] = read(definition as Setting<unknown>, environment, problems);
  }

  const config = { ...values, ...overrides } as Config;
  if (problems.length === 0 && config.queueLease <= config.requestTimeout) {
    problems.push(
      `HOOKLINE_QUEUE_LEASE (${config.queueLease} ms) must be longer than HOOKLINE_REQUEST_TIMEOUT (${config.requestTimeout} ms), so an attempt is never sent twice at once.`,
    );
  }
  if (problems.length === 0 && config.recoveryGrace <= config.queueLease) {
    problems.push(
      `HOOKLINE_RECOVERY_GRACE (${config.recoveryGrace} ms) must be longer than HOOKLINE_QUEUE_LEASE (${config.queueLease} ms), so the recovery sweep never races a job that the queue still holds.`,
    );
  }
  if (problems.length === 0 && config.breakerMaxCooldown < config.breakerCooldown) {
    problems.push(
      `HOOKLINE_BREAKER_MAX_COOLDOWN (${config.breakerMaxCooldown} ms) must be at least HOOKLINE_BREAKER_COOLDOWN (${config.breakerCooldown} ms), because failed probes only lengthen the wait.`,
    );
  }
  const queueUrls = [config.redisUrl, config.eventsRedisUrl, config.webhooksRedisUrl];
  if (problems.length === 0 && queueUrls.some((url) => url !== undefined) && queueUrls[0] === undefined) {
    if (config.eventsRedisUrl === undefined || config.webhooksRedisUrl === undefined) {
      problems.push(
        'HOOKLINE_EVENTS_REDIS_URL and HOOKLINE_WEBHOOKS_REDIS_URL must both be set unless REDIS_URL is, so both queues know their Redis server.',
      );
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }

  return Object.freeze({
    ...config,
    allowPrivateNetworks: Object.freeze([...config.allowPrivateNetworks]),
    retrySchedule: Object.freeze([...config.retrySchedule]),
  });
}

/** `HOOKLINE_` variables that the command-line tools and the test runner read, not the service. */
const toolVariables = new Set([
  'HOOKLINE_URL',
  'HOOKLINE_TOKEN',
  'HOOKLINE_WEBHOOK_SECRET',
  'HOOKLINE_TEST_CONCURRENCY',
  'HOOKLINE_TEST_DATABASE_URL',
  'HOOKLINE_TEST_REDIS_URL',
]);

/** Number of single-character edits that turn one name into the other. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Finds `HOOKLINE_` variables that no setting reads, such as misspelt names, each with the
 * closest setting name when one is near enough to be the intended one.
 */
export function unknownSettings(environment: NodeJS.ProcessEnv = process.env): { name: string; closest?: string }[] {
  const known = Object.values(settings).map((definition) => (definition as Setting<unknown>).name);
  return Object.keys(environment)
    .filter((name) => name.startsWith('HOOKLINE_') && !known.includes(name) && !toolVariables.has(name))
    .sort()
    .map((name) => {
      const [closest] = known
        .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
        .sort((x, y) => x.distance - y.distance);
      return closest !== undefined && closest.distance <= 3 ? { name, closest: closest.candidate } : { name };
    });
}
