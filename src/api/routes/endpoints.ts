import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import {
  endpointHeadersIn,
  endpointHeadersPatchIn,
  endpointIn,
  endpointPatch,
  endpointUpdate,
  pageQuery,
  pathIdentifier,
  recoverIn,
  secretRotateIn,
  statsQuery,
} from '../schemas.js';
import { endpointOut, endpointOutSchema, listOf, pageOut } from '../serializers.js';
import type { ApiServices } from '../services.js';

const appParams = z.object({ app_id: pathIdentifier });
const endpointParams = z.object({ app_id: pathIdentifier, endpoint_id: pathIdentifier });

/** Header names whose values are hidden when headers are read back. */
const sensitiveHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

export function registerEndpointRoutes(table: RouteTable, services: ApiServices): void {
  const tag = 'Endpoint';
  const base = '/api/v1/app/:app_id/endpoint';

  table.define({
    method: 'GET',
    url: base,
    operationId: 'v1.endpoint.list',
    summary: 'List the endpoints of an application',
    tag,
    access: 'application',
    params: appParams,
    query: pageQuery,
    status: 200,
    response: listOf(endpointOutSchema),
    handler: async ({ params, query }) => pageOut(await services.endpoints.list(params.app_id, query), endpointOut),
  });

  table.define({
    method: 'POST',
    url: base,
    operationId: 'v1.endpoint.create',
    summary: 'Create an endpoint',
    tag,
    access: 'application',
    params: appParams,
    body: endpointIn,
    status: 201,
    idempotent: true,
    response: endpointOutSchema,
    handler: async ({ params, body }) => endpointOut(await services.endpoints.create(params.app_id, body)),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.endpoint.get',
    summary: 'Get an endpoint by id or uid',
    tag,
    access: 'application',
    params: endpointParams,
    status: 200,
    response: endpointOutSchema,
    handler: async ({ params }) => endpointOut(await services.endpoints.get(params.app_id, params.endpoint_id)),
  });

  table.define({
    method: 'PUT',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.endpoint.update',
    summary: 'Replace an endpoint',
    tag,
    access: 'application',
    params: endpointParams,
    body: endpointUpdate,
    status: 200,
    response: endpointOutSchema,
    handler: async ({ params, body }) =>
      endpointOut(await services.endpoints.update(params.app_id, params.endpoint_id, body)),
  });

  table.define({
    method: 'PATCH',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.endpoint.patch',
    summary: 'Change some fields of an endpoint',
    tag,
    access: 'application',
    params: endpointParams,
    body: endpointPatch,
    status: 200,
    response: endpointOutSchema,
    handler: async ({ params, body }) =>
      endpointOut(await services.endpoints.patch(params.app_id, params.endpoint_id, body)),
  });

  table.define({
    method: 'DELETE',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.endpoint.delete',
    summary: 'Delete an endpoint',
    tag,
    access: 'application',
    params: endpointParams,
    status: 204,
    handler: async ({ params }) => services.endpoints.delete(params.app_id, params.endpoint_id),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id/secret`,
    operationId: 'v1.endpoint.get-secret',
    summary: "Get the key that verifies the endpoint's webhooks: its whsec_ secret, or the whpk_ public key of an ed25519 endpoint",
    tag,
    access: 'application',
    params: endpointParams,
    status: 200,
    response: z.object({ key: z.string() }),
    handler: async ({ params }) => ({ key: await services.endpoints.getSecret(params.app_id, params.endpoint_id) }),
  });

  table.define({
    method: 'POST',
    url: `${base}/:endpoint_id/secret/rotate`,
    operationId: 'v1.endpoint.rotate-secret',
    summary: 'Replace the signing secret; the old one keeps signing for the grace period (default 24 hours)',
    tag,
    access: 'application',
    params: endpointParams,
    body: secretRotateIn,
    status: 204,
    idempotent: true,
    handler: async ({ params, body }) =>
      services.endpoints.rotateSecret(
        params.app_id,
        params.endpoint_id,
        body?.key ?? null,
        body?.gracePeriodSeconds ?? undefined,
        body?.signatureScheme ?? undefined,
      ),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id/headers`,
    operationId: 'v1.endpoint.get-headers',
    summary: 'Get the custom headers sent with every webhook to this endpoint',
    tag,
    access: 'application',
    params: endpointParams,
    status: 200,
    response: z.object({ headers: z.record(z.string(), z.string()), sensitive: z.array(z.string()) }),
    handler: async ({ params }) => {
      const headers = await services.endpoints.getHeaders(params.app_id, params.endpoint_id);
      const visible: Record<string, string> = {};
      const sensitive: string[] = [];
      for (const [name, value] of Object.entries(headers)) {
        if (sensitiveHeaders.has(name.toLowerCase())) {
          sensitive.push(name);
        } else {
          visible[name] = value;
        }
      }
      return { headers: visible, sensitive };
    },
  });

  table.define({
    method: 'PUT',
    url: `${base}/:endpoint_id/headers`,
    operationId: 'v1.endpoint.update-headers',
    summary: 'Replace the custom headers',
    tag,
    access: 'application',
    params: endpointParams,
    body: endpointHeadersIn,
    status: 204,
    handler: async ({ params, body }) => services.endpoints.setHeaders(params.app_id, params.endpoint_id, body.headers),
  });

  table.define({
    method: 'PATCH',
    url: `${base}/:endpoint_id/headers`,
    operationId: 'v1.endpoint.patch-headers',
    summary: 'Set some custom headers; a null value removes a header',
    tag,
    access: 'application',
    params: endpointParams,
    body: endpointHeadersPatchIn,
    status: 204,
    handler: async ({ params, body }) =>
      services.endpoints.patchHeaders(params.app_id, params.endpoint_id, body.headers),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id/stats`,
    operationId: 'v1.endpoint.get-stats',
    summary: "Count the endpoint's deliveries by status",
    tag,
    access: 'application',
    params: endpointParams,
    query: statsQuery,
    status: 200,
    response: z.object({ success: z.number(), pending: z.number(), fail: z.number(), sending: z.number(), canceled: z.number() }),
    handler: async ({ params, query }) => {
      const counts = await services.attempts.endpointStats(params.app_id, params.endpoint_id, query.since, query.until);
      return { ...counts, canceled: 0 };
    },
  });

  table.define({
    method: 'POST',
    url: `${base}/:endpoint_id/recover`,
    operationId: 'v1.endpoint.recover',
    summary: 'Send again every failed delivery of this endpoint since a time',
    tag,
    access: 'application',
    params: endpointParams,
    body: recoverIn,
    status: 202,
    idempotent: true,
    response: z.object({ id: z.string(), status: z.string(), task: z.string(), updatedAt: z.string() }),
    handler: async ({ params, body, request }) => {
      const count = await services.redelivery.recover(params.app_id, params.endpoint_id, body.since, body.until ?? undefined);
      request.log.info({ endpointId: params.endpoint_id, deliveries: count }, 'Failed deliveries recovered');
      return { id: `qtask_${request.id}`, status: 'running', task: 'endpoint.recover', updatedAt: new Date().toISOString() };
    },
  });
}
