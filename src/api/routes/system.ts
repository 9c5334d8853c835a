import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createId } from '../../store/ids.js';
import type { Store } from '../../store/store.js';
import { buildOpenApiDocument } from '../openapi.js';
import type { RouteTable } from '../route-table.js';
import { WithStatus } from '../route-table.js';
import { applicationIn, pathIdentifier } from '../schemas.js';
import type { ApiServices, HealthCheck } from '../services.js';

export interface SystemRouteOptions {
  services: ApiServices;
  store: Store;
  checks: HealthCheck[];
  version: string;
  /** Base URL of links that the API hands out. */
  publicUrl: () => string;
  clock: () => number;
}

/** Lifetime of an application portal token. */
const portalTokenLifetimeMs = 7 * 24 * 60 * 60 * 1000;

export function registerSystemRoutes(table: RouteTable, options: SystemRouteOptions): void {
  table.define({
    method: 'GET',
    url: '/api/v1/health',
    operationId: 'v1.health.get',
    summary: 'Report whether the database, queue and cache can be reached',
    tag: 'Health',
    access: 'public',
    status: 200,
    response: z.record(z.string(), z.object({ status: z.enum(['OK', 'ERROR']) })),
    handler: async ({ request }) => {
      const report: Record<string, { status: 'OK' | 'ERROR' }> = { database: { status: 'OK' }, queue: { status: 'OK' }, cache: { status: 'OK' } };
      let healthy = true;
      for (const check of options.checks) {
        try {
          await check.check();
        } catch (error) {
          healthy = false;
          report[check.name] = { status: 'ERROR' };
          request.log.error({ err: error, check: check.name }, 'Health check failed');
        }
      }
      return new WithStatus(healthy ? 200 : 503, report);
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/health/ping',
    operationId: 'v1.health.ping',
    summary: 'Answer 204 while the process serves requests',
    tag: 'Health',
    access: 'public',
    status: 204,
    handler: async () => undefined,
  });

  table.define({
    method: 'POST',
    url: '/api/v1/auth/app-portal-access/:app_id',
    operationId: 'v1.authentication.app-portal-access',
    summary: 'Create a token, valid for 7 days, that reaches only this application, and a portal link with it',
    tag: 'Authentication',
    access: 'admin',
    params: z.object({ app_id: pathIdentifier }),
    body: z.object({ application: applicationIn.nullish(), featureFlags: z.array(z.string()).optional() }).optional(),
    status: 200,
    response: z.object({ token: z.string(), url: z.string() }),
    handler: async ({ params, body }) => {
      let application = await options.services.applications.find(params.app_id);
      if (!application && body?.application) {
        ({ application } = await options.services.applications.create({ ...body.application, uid: body.application.uid ?? params.app_id }, true));
      }
      if (!application) {
        application = await options.services.applications.get(params.app_id);
      }
      const now = options.clock();
      const token = `appsk_${randomBytes(24).toString('base64url')}`;
      await options.store.tokens.insert(createId('tok', now), token, 'app', application.id, now + portalTokenLifetimeMs, now);
      return { token, url: `${options.publicUrl()}/portal/#key=${token}&app=${application.id}` };
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/openapi.json',
    operationId: 'v1.openapi.get',
    summary: 'This OpenAPI document',
    tag: 'Health',
    access: 'public',
    status: 200,
    handler: async () => buildOpenApiDocument(table.routes, options.version),
  });
}
