import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';
import type { HooklineMetrics } from '../observability/metrics.js';
import { endRequestSpan, runInRequestContext, startRequestSpan, type RequestSpan } from '../observability/tracing.js';
import type { Store } from '../store/store.js';
import { registerAuth } from './auth.js';
import { registerDocsUi } from './docs-ui.js';
import { errorCodes, handleError, HttpError } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { registerJsonBodyParser } from './json-body.js';
import { defaultPortalDirectory, registerPortal } from './portal-assets.js';
import { RouteTable } from './route-table.js';
import { registerApplicationRoutes } from './routes/applications.js';
import { registerDeliveryHealthRoutes } from './routes/delivery-health.js';
import { registerEndpointRoutes } from './routes/endpoints.js';
import { registerEventRoutes } from './routes/events.js';
import { registerEventTypeRoutes } from './routes/event-types.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerPortalRoutes } from './routes/portal.js';
import { registerStatisticsRoutes } from './routes/statistics.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerWorkshopRoutes } from './routes/workshop.js';
import type { ApiServices, HealthCheck, ReadinessCheck } from './services.js';

export interface ServerOptions {
  services: ApiServices;
  store: Store;
  checks: HealthCheck[];
  /** Checks of /readyz; see ReadinessCheck for which ones fail it. */
  readiness: ReadinessCheck[];
  /** Prometheus metrics, served at /metrics; undefined when HOOKLINE_METRICS is off. */
  metrics?: HooklineMetrics | undefined;
  logger: Logger;
  adminToken: string;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  version: string;
  /** Base URL of links that the API hands out. */
  publicUrl: () => string;
  clock: () => number;
  /** Folder of the portal's production build; the package's own `dist/portal` by default. */
  portalDirectory?: string;
  /** Maximum silence on an event stream before a heartbeat comment, in milliseconds. */
  streamHeartbeatMs: number;
}

/** Builds the HTTP server with every route; the caller decides where it listens. */
export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    requestIdHeader: false,
    // Requests that arrive while the server closes get a 503 in the API's error shape
    // from the hook below, not Fastify's own body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Path ids and uids may have 256 characters. Longer ones still reach the route, which
    // returns 422 naming the parameter, rather than the router's 414 in Fastify's error shape.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
    frameworkErrors: handleError,
  });

  registerJsonBodyParser(app);
  refuseWhileClosing(app);
  registerRequestObservers(app, options.metrics);

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: errorCodes.notFound, detail: `No route ${request.method} ${request.url.split('?')[0]}.` });
  });

  registerAuth(app, options.store, options.adminToken, options.clock);
  registerIdempotency(app, options.store, options.clock);

  const table = new RouteTable(app);
  registerApplicationRoutes(table, options.services);
  registerEventTypeRoutes(table, options.services);
  registerEndpointRoutes(table, options.services);
  registerDeliveryHealthRoutes(table, options.services);
  registerMessageRoutes(table, options.services);
  registerEventRoutes(table, options.services, { heartbeatMs: options.streamHeartbeatMs });
  registerWorkshopRoutes(table, options.services);
  registerPortalRoutes(table, options.services, options.store);
  registerStatisticsRoutes(table, options.services);
  registerSystemRoutes(table, {
    services: options.services,
    store: options.store,
    checks: options.checks,
    version: options.version,
    publicUrl: options.publicUrl,
    clock: options.clock,
  });

  registerPortal(app, options.portalDirectory ?? defaultPortalDirectory, options.logger);
  registerDocsUi(app);

  registerProbeRoutes(app, options.readiness, options.metrics);

  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    traceSpan?: RequestSpan;
  }
}

/** Counts each request in the metrics and, while tracing is on, wraps it in a server span. */
function registerRequestObservers(app: FastifyInstance, metrics: HooklineMetrics | undefined): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const span = startRequestSpan(request.method, request.headers);
    if (span === undefined) {
      done();
      return;
    }
    request.traceSpan = span;
    runInRequestContext(span, done);
  });

  app.addHook('onResponse', async (request, reply) => {
    // Unmatched paths share one label value, so probes of random URLs cannot add series.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics?.requestServed(request.method, route, reply.statusCode, reply.elapsedTime);
    if (request.traceSpan) {
      endRequestSpan(request.traceSpan, request.method, route, reply.statusCode);
    }
  });
}

/**
 * Runs the readiness checks in order. A failed `required` check makes the process not
 * ready; a failed optional one is reported as `degraded` and leaves it ready.
 */
async function runReadinessChecks(
  checks: ReadinessCheck[],
  log: FastifyBaseLogger,
): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'failed' | 'degraded'> }> {
  const report: Record<string, 'ok' | 'failed' | 'degraded'> = {};
  let ready = true;
  for (const check of checks) {
    try {
      await check.check();
      report[check.name] = 'ok';
    } catch (error) {
      report[check.name] = check.required ? 'failed' : 'degraded';
      ready &&= !check.required;
      log.warn({ err: error, check: check.name, required: check.required }, 'Readiness check failed');
    }
  }
  return { ready, checks: report };
}

/**
 * Registers /healthz (the process runs), /readyz (see ReadinessCheck) and, with metrics on,
 * /metrics. None needs a token, so orchestrators and Prometheus can call them.
 */
export function registerProbeRoutes(app: FastifyInstance, readiness: ReadinessCheck[], metrics: HooklineMetrics | undefined): void {
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' } }, async (request, reply) => {
    const report = await runReadinessChecks(readiness, request.log);
    return reply.status(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'unavailable', checks: report.checks });
  });

  if (metrics) {
    app.get('/metrics', { config: { access: 'public' } }, async (_request, reply) => {
      const rendered = await metrics.render();
      return reply.type(rendered.contentType).send(rendered.body);
    });
  }
}

/**
 * Rejects requests that arrive after the server began to close with 503 and
 * `Connection: close`, so that clients retry against another process.
 */
function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (closing) {
      void reply.header('connection', 'close');
      throw new HttpError(503, errorCodes.unavailable, 'Hookline is shutting down; retry the request, it will reach a running process.');
    }
  });
}

/** Builds the HTTP server of a worker process: only the probes and the metrics, on a port of its own. */
export function buildProbeServer(options: { logger: Logger; readiness: ReadinessCheck[]; metrics?: HooklineMetrics | undefined }): FastifyInstance {
  const app = Fastify({ loggerInstance: options.logger as FastifyBaseLogger, requestIdHeader: false, return503OnClosing: true, forceCloseConnections: 'idle' });
  registerRequestObservers(app, options.metrics);
  registerProbeRoutes(app, options.readiness, options.metrics);
  return app;
}
