import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createId } from '../../store/ids.js';
import type { Store } from '../../store/store.js';
import { readOnlyTokenKind } from '../auth.js';
import { errorCodes, HttpError } from '../errors.js';
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

/** Lifetime of an application portal token when the request gives no `expiry`, and the longest allowed, in seconds. */
const maxPortalTokenSeconds = 7 * 24 * 60 * 60;
/** Shortest lifetime that a request may ask for, in seconds, as in the Svix API. */
const minPortalTokenSeconds = 60 * 60;

const appPortalAccessIn = z
  .object({
    application: applicationIn.nullish(),
    expiry: z
      .number()
      .int()
      .min(minPortalTokenSeconds)
      .max(maxPortalTokenSeconds)
      .nullish()
      .describe('Lifetime of the token in seconds, from 3600 (1 hour) to 604800 (7 days, the default).'),
    featureFlags: z.array(z.string()).optional(),
    readOnly: z
      .boolean()
      .nullish()
      .describe('Whether the token may only read: its requests other than GET and HEAD get 403, except logout.'),
    capabilities: z
      .unknown()
      .refine((value) => value === null || value === undefined, 'is not supported; send readOnly: true for a token that may only read')
      .optional()
      .describe('Not supported. Hookline rejects a request that sets it, rather than give the token more access than it asks for.'),
  })
  .optional();

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
    summary: 'Create a token that reaches only this application and expires (after 7 days unless `expiry` says otherwise), and a portal link with it',
    tag: 'Authentication',
    access: 'admin',
    params: z.object({ app_id: pathIdentifier }),
    body: appPortalAccessIn,
    status: 200,
    response: z.object({ token: z.string(), url: z.string() }),
    handler: async ({ params, body, request }) => {
      let application = await options.services.applications.find(params.app_id);
      if (!application && body?.application) {
        ({ application } = await options.services.applications.create({ ...body.application, uid: body.application.uid ?? params.app_id }, true));
      }
      if (!application) {
        application = await options.services.applications.get(params.app_id);
      }
      const now = options.clock();
      // Creating a token is the one place that adds rows, so it also removes the expired ones.
      await options.store.tokens.deleteExpired(now);
      const lifetimeSeconds = body?.expiry ?? maxPortalTokenSeconds;
      const token = `appsk_${randomBytes(24).toString('base64url')}`;
      const tokenId = createId('tok', now);
      const kind = body?.readOnly === true ? readOnlyTokenKind : 'app';
      await options.store.tokens.insert(tokenId, token, kind, application.id, now + lifetimeSeconds * 1000, now);
      request.log.info({ appId: application.id, tokenId, kind, expiresInSeconds: lifetimeSeconds }, 'Application portal token created');
      // The token goes in the fragment, which browsers never send to a server or a proxy log.
      const base = options.publicUrl().replace(/\/+$/, '');
      return { token, url: `${base}/portal/app/${encodeURIComponent(application.id)}#token=${token}` };
    },
  });

  table.define({
    method: 'POST',
    url: '/api/v1/auth/logout',
    operationId: 'v1.authentication.logout',
    summary: 'Revoke the application token that authenticates this request; later requests with it get 401',
    tag: 'Authentication',
    access: 'application',
    status: 204,
    handler: async ({ request }) => {
      const principal = request.principal;
      if (principal?.kind !== 'application') {
        throw new HttpError(
          403,
          errorCodes.forbidden,
          'Only application tokens can log out. The admin token comes from HOOKLINE_ADMIN_TOKEN or the admin-token file, and changes there.',
        );
      }
      await options.store.tokens.delete(principal.tokenId);
      request.log.info({ appId: principal.appId, tokenId: principal.tokenId }, 'Application token revoked');
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
