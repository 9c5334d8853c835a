import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildProbeServer, buildServer } from '../api/server.js';
import type { ApiServices, HealthCheck, ReadinessCheck } from '../api/services.js';
import { unknownSettings, type Config } from '../config/load.js';
import { ApplicationService } from '../core/applications.js';
import { AttemptQueryService } from '../core/attempts.js';
import type { Clock } from '../core/clock.js';
import { EndpointService } from '../core/endpoints.js';
import { EventTypeService } from '../core/event-types.js';
import { ExampleMessageService } from '../core/example-messages.js';
import { createFanOutHandler } from '../core/fan-out.js';
import { MessageStreamService } from '../core/message-stream.js';
import { MessageService } from '../core/messages.js';
import { OperationalWebhookService } from '../core/operational-webhooks.js';
import { RecoverySweep } from '../core/recovery-sweep.js';
import { RedeliveryService } from '../core/redelivery.js';
import { StatisticsRecorder } from '../core/attempt-statistics.js';
import { ContentService, RetentionJob } from '../core/retention.js';
import { StatisticsService } from '../core/statistics.js';
import { SystemOverviewService } from '../core/system-overview.js';
import { workshopCatalog, WorkshopService } from '../core/workshop.js';
import { createAttemptHandler } from '../delivery/attempt-handler.js';
import { CircuitBreaker } from '../delivery/circuit-breaker.js';
import { EndpointHealthTracker } from '../delivery/endpoint-health.js';
import { EndpointPacing } from '../delivery/endpoint-pacing.js';
import { DeliveryHealthReport } from '../delivery/health-report.js';
import { createWebhookSender, type LookupAllFunction } from '../delivery/http-sender.js';
import type { AttemptObserver } from '../observability/attempt-events.js';
import type { Logger } from '../observability/logger.js';
import { HooklineMetrics } from '../observability/metrics.js';
import { startTracing, tracingAttemptObserver, withSpan } from '../observability/tracing.js';
import { pendingMigrations } from '../store/migrate.js';
import type { Consumer } from '../queue/contract.js';
import type { DeliveryJob, FanOutJob } from '../queue/jobs.js';
import type { Store } from '../store/store.js';
import { resolveAdminToken } from './admin-token.js';
import { openMessageNotifier } from './open-notifier.js';
import { modeOf, openQueue } from './open-queue.js';
import { describeStore, openStore, storeDialect } from './open-store.js';
import { version } from './version.js';

/** The parts of Hookline that a process runs. */
export interface Roles {
  api: boolean;
  worker: boolean;
}

export interface HooklineOptions {
  config: Readonly<Config>;
  logger: Logger;
  roles: Roles;
  clock?: Clock;
  /** DNS lookup for deliveries, for tests; defaults to the system resolver. */
  lookup?: LookupAllFunction;
}

export interface Hookline {
  store: Store;
  /** The HTTP server: the API, or the probes and metrics of a worker with HOOKLINE_WORKER_PORT. */
  server: FastifyInstance | undefined;
  /** `http://host:port` of that server, when it runs. */
  url: string | undefined;
  /** Prometheus metrics of this process, when HOOKLINE_METRICS is on. */
  metrics: HooklineMetrics | undefined;
  /** The statistics recorder, when HOOKLINE_STATS is on and the process runs workers. */
  statistics: StatisticsRecorder | undefined;
  /** The retention job, when the process runs workers. */
  retention: RetentionJob | undefined;
  /** Stops taking work, lets in-flight attempts finish within the shutdown timeout, and closes everything. */
  close(): Promise<void>;
}

const loopbackRanges = ['127.0.0.0/8', '::1/128'];

/** Builds and starts Hookline for the given roles, in the embedded or scaled mode that the configuration selects. */
export async function startHookline(options: HooklineOptions): Promise<Hookline> {
  const { config, logger, roles } = options;
  const clock = options.clock ?? (() => Date.now());

  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const mode = modeOf(config);
  if (storeDialect(config) === 'postgres' && mode === 'embedded') {
    throw new Error(
      'DATABASE_URL names PostgreSQL but REDIS_URL is not set: the scaled mode needs both. Set REDIS_URL, or unset DATABASE_URL for the embedded mode.',
    );
  }
  const store = await openStore(config, logger);
  const db = store.db;
  let opened;
  try {
    opened = await openQueue(config, store, logger, clock);
  } catch (error) {
    await store.destroy();
    throw error;
  }
  const { queue, state } = opened;
  // API processes accept messages and serve the pull API; workers create operational
  // webhook messages, so they publish notices too but have no readers to wake.
  const notifier = await openMessageNotifier(config, logger, roles.api);

  const tracing = await startTracing({ serviceName: 'hookline', version, environment: process.env });
  if (tracing.enabled) {
    logger.info('Tracing on: spans are exported to the OTLP endpoint named by OTEL_EXPORTER_OTLP_ENDPOINT');
  }

  const applications = new ApplicationService(store, clock);
  const eventTypes = new EventTypeService(store, clock);
  const endpoints = new EndpointService(store, applications, clock);
  const breaker = new CircuitBreaker({
    state,
    logger: logger.child({ component: 'breaker' }),
    clock,
    threshold: config.breakerThreshold,
    cooldownMs: config.breakerCooldown,
    maxCooldownMs: config.breakerMaxCooldown,
    probeLeaseMs: config.requestTimeout + 5_000,
    // A failure count that expired during a streak would restart the streak that
    // HOOKLINE_DISABLE_AFTER measures, so the count outlives it.
    stateTtlMs: Math.max(7 * 86_400_000, 2 * config.disableAfter),
  });
  const pacing = new EndpointPacing({
    state,
    clock,
    endpointConcurrency: config.endpointConcurrency ?? Math.max(1, Math.floor(config.workerConcurrency / 8)),
  });
  const deliveryHealth = new DeliveryHealthReport(store, breaker, pacing);
  const overview = new SystemOverviewService({
    store,
    queue,
    mode,
    version,
    clock,
    countOpenBreakers: async () => (await deliveryHealth.openBreakers()).length,
  });
  const metrics = config.metrics
    ? new HooklineMetrics({
        readGauges: () => overview.overview(),
        onGaugeError: (error) => logger.warn({ err: error }, 'Reading the queue and store gauges for /metrics failed'),
      })
    : undefined;
  const messages = new MessageService(store, queue, applications, clock, notifier, metrics ? (message) => metrics.messageAccepted(message.eventType) : undefined);
  const stream = roles.api
    ? new MessageStreamService(store, applications, notifier, { fallbackCheckMs: 5_000, releaseCheckMs: 25 })
    : undefined;
  const operationalWebhooks = new OperationalWebhookService(
    store,
    applications,
    endpoints,
    messages,
    clock,
    logger.child({ component: 'operational-webhooks' }),
  );
  const services: ApiServices = {
    applications,
    eventTypes,
    endpoints,
    messages,
    // Worker-only processes build no server, so nothing reads this service there.
    stream: stream as MessageStreamService,
    attempts: new AttemptQueryService(store, applications, endpoints, messages),
    redelivery: new RedeliveryService(store, queue, messages, endpoints, clock),
    workshop: new WorkshopService(store, applications, endpoints, messages, clock),
    examples: new ExampleMessageService(store, queue, endpoints, eventTypes, clock),
    statistics: new StatisticsService(store, applications, clock),
    overview,
    content: new ContentService(store, messages),
    operationalWebhooks,
    deliveryHealth,
  };
  await eventTypes.seed(workshopCatalog);

  for (const unknown of unknownSettings()) {
    logger.warn(
      { variable: unknown.name, closest: unknown.closest },
      unknown.closest === undefined
        ? 'This environment variable is not a Hookline setting and is ignored; docs/configuration.md lists the settings'
        : `This environment variable is not a Hookline setting and is ignored; did you mean ${unknown.closest}?`,
    );
  }

  const allowedCidrs = config.devAllowLoopback ? [...config.allowPrivateNetworks, ...loopbackRanges] : [...config.allowPrivateNetworks];
  if (allowedCidrs.length > 0) {
    logger.warn({ allowedCidrs }, 'Deliveries may reach private addresses in these ranges; do not run like this where customers choose endpoint URLs');
  }

  const consumers: Consumer[] = [];
  const sender = createWebhookSender({
    timeoutMs: config.requestTimeout,
    maxResponseBytes: config.maxResponseBodySize,
    userAgent: `Hookline/${version}`,
    allowedCidrs,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(config.proxyUrl ? { proxyUrl: config.proxyUrl } : {}),
  });
  const statistics =
    roles.worker && config.stats ? new StatisticsRecorder({ store, logger: logger.child({ component: 'statistics' }), flushIntervalMs: 1_000 }) : undefined;
  statistics?.start();
  const observers: AttemptObserver[] = [metrics, statistics, tracing.enabled ? tracingAttemptObserver : undefined].filter(
    (observer) => observer !== undefined,
  );

  if (config.proxyUrl) {
    logger.info({ proxy: redactUrl(config.proxyUrl) }, 'Deliveries go through an HTTP proxy');
  }
  if (roles.worker) {
    const fanOut = createFanOutHandler(store, queue, clock, logger.child({ component: 'fan-out' }));
    consumers.push(
      queue.consume<FanOutJob>(
        'events',
        (job, signal) => withSpan('fan-out', { 'hookline.msg_id': job.data.msgId }, () => fanOut(job, signal), { parent: job.data.trace }),
        { concurrency: 4 },
      ),
    );
    const attempt = createAttemptHandler({
      store,
      sender,
      logger: logger.child({ component: 'delivery' }),
      retrySchedule: config.retrySchedule,
      userAgent: `Hookline/${version}`,
      clock,
      maxRetryAfterMs: config.maxRetryAfter,
      breaker,
      pacing,
      health: new EndpointHealthTracker({
        store,
        breaker,
        pacing,
        logger: logger.child({ component: 'endpoint-health' }),
        disableAfterMs: config.disableAfter,
        operationalEvents: operationalWebhooks,
      }),
      observers,
    });
    consumers.push(
      queue.consume<DeliveryJob>(
        'webhooks',
        (job, signal) =>
          withSpan('delivery attempt', { 'hookline.delivery_id': job.data.deliveryId, 'hookline.job_attempt': job.attempts }, () => attempt(job, signal), {
            parent: job.data.trace,
          }),
        { concurrency: config.workerConcurrency },
      ),
    );
  }

  const retention = roles.worker
    ? new RetentionJob({
        store,
        state,
        logger: logger.child({ component: 'retention' }),
        clock,
        retentionDays: config.retentionDays,
        intervalMs: config.retentionInterval,
      })
    : undefined;
  retention?.start();

  // A queue outside the database can lose jobs. The store still records every unfinished
  // fan-out and delivery, so workers sweep for overdue ones and queue them again.
  const sweep =
    roles.worker && mode === 'scaled'
      ? new RecoverySweep({
          store,
          queue,
          state,
          logger: logger.child({ component: 'recovery' }),
          clock,
          intervalMs: config.recoveryInterval,
          graceMs: config.recoveryGrace,
        })
      : undefined;
  sweep?.start();

  // A process is ready while it can do its work. An API process needs a reachable, migrated
  // store; Redis is optional for it, because messages wait in the outbox while Redis is down.
  // A worker-only process needs the queue too. The embedded queue lives in the store.
  const readiness: ReadinessCheck[] = [
    { name: 'database', required: true, check: async () => void (await sql`select 1`.execute(db)) },
    {
      name: 'migrations',
      required: true,
      check: async () => {
        const pending = await pendingMigrations(db, store.dialect);
        if (pending.length > 0) {
          throw new Error(`Migrations not applied: ${pending.join(', ')}`);
        }
      },
    },
    { name: 'queue', required: queue.driver === 'embedded' || !roles.api, check: async () => void (await queue.counts('webhooks')) },
  ];

  /** Listens, or stops what already runs and releases the store when listening fails. */
  const listenOrRelease = async (target: FastifyInstance, host: string, port: number): Promise<string> => {
    try {
      return await target.listen({ host, port });
    } catch (error) {
      await Promise.all(consumers.map((consumer) => consumer.close(0)));
      await sweep?.stop();
      await retention?.stop();
      await statistics?.close();
      await tracing.shutdown();
      await queue.close(0);
      await state.close();
      await notifier.close();
      await sender.close();
      await store.destroy();
      throw error;
    }
  };

  let server: FastifyInstance | undefined;
  let url: string | undefined;
  if (roles.api) {
    const admin = resolveAdminToken(config.adminToken, dataDir);
    if (admin.generated) {
      logger.info({ file: admin.file }, 'Generated an admin token; read it from this file');
    } else if (admin.file) {
      logger.info({ file: admin.file }, 'Using the admin token stored in this file');
    }
    const checks: HealthCheck[] = [
      { name: 'database', check: async () => void (await sql`select 1`.execute(db)) },
      { name: 'queue', check: async () => void (await queue.counts('webhooks')) },
      { name: 'cache', check: () => state.ping() },
    ];
    server = buildServer({
      services,
      store,
      checks,
      readiness,
      metrics,
      logger,
      adminToken: admin.token,
      bodyLimit: config.maxPayloadSize,
      version,
      publicUrl: () => config.publicUrl ?? url ?? `http://${config.host}:${config.port}`,
      clock,
      streamHeartbeatMs: config.streamHeartbeat,
    });
    url = await listenOrRelease(server, config.host, config.port);
    logger.info({ url, mode, store: describeStore(config), roles }, `Hookline ${version} listening on ${url}`);
  } else if (config.workerPort !== undefined) {
    server = buildProbeServer({ logger, readiness, metrics });
    url = await listenOrRelease(server, config.host, config.workerPort);
    logger.info({ mode, roles, url }, `Hookline ${version} worker started; probes and metrics on ${url}`);
  } else {
    logger.info({ mode, roles }, `Hookline ${version} worker started`);
  }

  let closing: Promise<void> | undefined;
  const close = async () => {
    logger.info('Shutting down: no new requests or jobs are taken');
    // Long polls and event streams end now; their clients resume from the last position.
    stream?.close();
    // The server and the consumers stop together, so the shutdown timeout bounds both.
    await Promise.all([
      server ? closeServer(server, config.shutdownTimeout, logger) : undefined,
      ...consumers.map((consumer) => consumer.close(config.shutdownTimeout)),
    ]);
    await sweep?.stop();
    await retention?.stop();
    // The attempts that finished during the shutdown are counted before the store closes.
    await statistics?.close();
    await queue.close(config.shutdownTimeout);
    await state.close();
    await notifier.close();
    await sender.close();
    await tracing.shutdown();
    await store.destroy();
    logger.info('Shutdown complete');
  };

  return {
    store,
    server,
    url,
    metrics,
    statistics,
    retention,
    close: () => (closing ??= close()),
  };
}

/** Returns a URL without its user name and password, for logs. */
function redactUrl(text: string): string {
  const url = new URL(text);
  url.username = '';
  url.password = '';
  return url.toString();
}

/**
 * Closes the HTTP server, letting requests in progress finish for up to `timeoutMs`.
 * Connections still open then are destroyed, because a client that never finishes
 * sending its request would otherwise keep the process alive.
 */
async function closeServer(server: FastifyInstance, timeoutMs: number, logger: Logger): Promise<void> {
  const closed = server.close();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });

  const expired = await Promise.race([closed.then(() => false), timedOut]);
  clearTimeout(timer);
  if (expired) {
    logger.warn({ timeoutMs }, 'Closed the HTTP connections still open at the shutdown deadline');
    server.server.closeAllConnections();
    await closed;
  }
}
