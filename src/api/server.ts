import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import { registerAuth } from './auth.js';
import { registerDocsUi } from './docs-ui.js';
import { errorCodes, handleError } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { registerJsonBodyParser } from './json-body.js';
import { RouteTable } from './route-table.js';
import { registerApplicationRoutes } from './routes/applications.js';
import { registerDeliveryHealthRoutes } from './routes/delivery-health.js';
import { registerEndpointRoutes } from './routes/endpoints.js';
import { registerEventRoutes } from './routes/events.js';
import { registerEventTypeRoutes } from './routes/event-types.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerWorkshopRoutes } from './routes/workshop.js';
import type { ApiServices, HealthCheck } from './services.js';

export interface ServerOptions {
  services: ApiServices;
  store: Store;
  checks: HealthCheck[];
  logger: Logger;
  adminToken: string;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  version: string;
  /** Base URL of links that the API hands out. */
  publicUrl: () => string;
  clock: () => number;
  /** Maximum silence on an event stream before a heartbeat comment, in milliseconds. */
  streamHeartbeatMs: number;
}

/** Builds the HTTP server with every route; the caller decides where it listens. */
export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit,
    requestIdHeader: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Path ids and uids may have 256 characters. Longer ones still reach the route, which
    // returns 422 naming the parameter, rather than the router's 414 in Fastify's error shape.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
    frameworkErrors: handleError,
  });

  registerJsonBodyParser(app);

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
  registerSystemRoutes(table, {
    services: options.services,
    store: options.store,
    checks: options.checks,
    version: options.version,
    publicUrl: options.publicUrl,
    clock: options.clock,
  });

  registerDocsUi(app);

  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  // Readiness means "can accept messages", which needs only the store: with the queue
  // down, messages wait in the outbox. /api/v1/health reports the queue and cache as well.
  const readinessChecks = options.checks.filter((check) => check.name === 'database');
  app.get('/readyz', { config: { access: 'public' } }, async (request, reply) => {
    for (const check of readinessChecks) {
      try {
        await check.check();
      } catch (error) {
        request.log.warn({ err: error, check: check.name }, 'Readiness check failed');
        return reply.status(503).send({ status: 'unavailable', failed: check.name });
      }
    }
    return { status: 'ready' };
  });

  return app;
}
