import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import { endpointHeadersIn, endpointIn, endpointUpdate, pageQuery, pathIdentifier, secret } from '../schemas.js';
import type { ApiServices } from '../services.js';
import type { Endpoint } from '../../store/records.js';

const endpointParams = z.object({ app_id: pathIdentifier, endpoint_id: pathIdentifier });
const operationalParams = z.object({ endpoint_id: pathIdentifier });

const iso = (time: number | null): string | null => (time === null ? null : new Date(time).toISOString());

const date = z.string().describe('RFC 3339 date-time');
const endpointHealthSchema = z.object({
  breaker: z.enum(['closed', 'open', 'half-open']),
  consecutiveFailures: z.number().int(),
  openUntil: date.nullable().describe('When the next probe may run, while the breaker is open or half-open'),
  failingSince: date.nullable().describe('First failure since the last success'),
  disabled: z.boolean(),
  throttledUntil: date.nullable().describe('Until when a 429 or 5xx with Retry-After holds deliveries back'),
});
const openBreakerSchema = z.object({
  appId: z.string(),
  endpointId: z.string(),
  url: z.string(),
  openUntil: date.nullable(),
  consecutiveFailures: z.number().int(),
});
const operationalEndpointSchema = z.object({
  id: z.string(),
  uid: z.string().nullable(),
  url: z.string(),
  description: z.string(),
  disabled: z.boolean(),
  rateLimit: z.number().int().nullable(),
  throttleRate: z.number().int().nullable(),
  filterTypes: z.array(z.string()).nullable(),
  metadata: z.record(z.string(), z.string()),
  createdAt: date,
  updatedAt: date,
});

/** Serializes an operational webhook endpoint in the shape of Svix's OperationalWebhookEndpointOut. */
function operationalEndpointOut(endpoint: Endpoint): z.infer<typeof operationalEndpointSchema> {
  return {
    id: endpoint.id,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    disabled: endpoint.disabled,
    rateLimit: endpoint.throttleRate,
    throttleRate: endpoint.throttleRate,
    filterTypes: endpoint.eventTypes,
    metadata: endpoint.metadata,
    createdAt: new Date(endpoint.createdAt).toISOString(),
    updatedAt: new Date(endpoint.updatedAt).toISOString(),
  };
}

// Operational endpoints have no channels in Svix's API, and their custom headers are set
// through the headers route only.
const operationalEndpointIn = endpointIn.transform(({ channels: _channels, headers: _headers, ...rest }) => rest);
const operationalEndpointUpdate = endpointUpdate.transform(({ channels: _channels, ...rest }) => rest);
const rotateIn = z.object({ key: secret.nullish() }).nullish();

/** Routes of endpoint health, open circuit breakers and operational webhook endpoints. */
export function registerDeliveryHealthRoutes(table: RouteTable, services: ApiServices): void {
  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/endpoint/:endpoint_id/health',
    operationId: 'v1.endpoint.get-health',
    summary: "Get the endpoint's circuit breaker, failure streak and slow-down",
    tag: 'Endpoint',
    access: 'application',
    params: endpointParams,
    status: 200,
    response: endpointHealthSchema,
    handler: async ({ params }) => {
      const endpoint = await services.endpoints.get(params.app_id, params.endpoint_id);
      const report = await services.deliveryHealth.endpoint(endpoint);
      return {
        breaker: report.breaker,
        consecutiveFailures: report.consecutiveFailures,
        openUntil: iso(report.openUntil),
        failingSince: iso(report.failingSince),
        disabled: report.disabled,
        throttledUntil: iso(report.throttledUntil),
      };
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/breakers',
    operationId: 'v1.breakers.list',
    summary: 'List the endpoints whose circuit breaker is open or half-open',
    tag: 'Health',
    access: 'admin',
    status: 200,
    response: z.object({ data: z.array(openBreakerSchema) }),
    handler: async () => {
      const open = await services.deliveryHealth.openBreakers();
      return { data: open.map((breaker) => ({ ...breaker, openUntil: iso(breaker.openUntil) })) };
    },
  });

  registerOperationalEndpointRoutes(table, services);
}

function registerOperationalEndpointRoutes(table: RouteTable, services: ApiServices): void {
  const tag = 'Webhook Endpoint';
  const base = '/api/v1/operational-webhook/endpoint';
  const operational = services.operationalWebhooks;

  table.define({
    method: 'GET',
    url: base,
    operationId: 'v1.operational-webhook.endpoint.list',
    summary: 'List the operational webhook endpoints',
    tag,
    access: 'admin',
    query: pageQuery,
    status: 200,
    response: z.object({ data: z.array(operationalEndpointSchema), iterator: z.string().nullable(), prevIterator: z.string().nullable(), done: z.boolean() }),
    handler: async ({ query }) => {
      const page = await operational.list(query);
      return { data: page.data.map(operationalEndpointOut), iterator: page.iterator, prevIterator: page.prevIterator, done: page.done };
    },
  });

  table.define({
    method: 'POST',
    url: base,
    operationId: 'v1.operational-webhook.endpoint.create',
    summary: 'Create an operational webhook endpoint',
    tag,
    access: 'admin',
    body: operationalEndpointIn,
    status: 201,
    idempotent: true,
    response: operationalEndpointSchema,
    handler: async ({ body }) => operationalEndpointOut(await operational.create(body)),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.operational-webhook.endpoint.get',
    summary: 'Get an operational webhook endpoint',
    tag,
    access: 'admin',
    params: operationalParams,
    status: 200,
    response: operationalEndpointSchema,
    handler: async ({ params }) => operationalEndpointOut(await operational.get(params.endpoint_id)),
  });

  table.define({
    method: 'PUT',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.operational-webhook.endpoint.update',
    summary: 'Replace an operational webhook endpoint',
    tag,
    access: 'admin',
    params: operationalParams,
    body: operationalEndpointUpdate,
    status: 200,
    response: operationalEndpointSchema,
    handler: async ({ params, body }) => operationalEndpointOut(await operational.update(params.endpoint_id, body)),
  });

  table.define({
    method: 'DELETE',
    url: `${base}/:endpoint_id`,
    operationId: 'v1.operational-webhook.endpoint.delete',
    summary: 'Delete an operational webhook endpoint',
    tag,
    access: 'admin',
    params: operationalParams,
    status: 204,
    handler: async ({ params }) => operational.delete(params.endpoint_id),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id/secret`,
    operationId: 'v1.operational-webhook.endpoint.get-secret',
    summary: "Get the operational webhook endpoint's signing secret",
    tag,
    access: 'admin',
    params: operationalParams,
    status: 200,
    response: z.object({ key: z.string() }),
    handler: async ({ params }) => ({ key: await operational.getSecret(params.endpoint_id) }),
  });

  table.define({
    method: 'POST',
    url: `${base}/:endpoint_id/secret/rotate`,
    operationId: 'v1.operational-webhook.endpoint.rotate-secret',
    summary: "Replace the operational webhook endpoint's signing secret",
    tag,
    access: 'admin',
    params: operationalParams,
    body: rotateIn,
    status: 204,
    idempotent: true,
    handler: async ({ params, body }) => operational.rotateSecret(params.endpoint_id, body?.key ?? null),
  });

  table.define({
    method: 'GET',
    url: `${base}/:endpoint_id/headers`,
    operationId: 'v1.operational-webhook.endpoint.get-headers',
    summary: 'Get the custom headers sent with every operational webhook to this endpoint',
    tag,
    access: 'admin',
    params: operationalParams,
    status: 200,
    response: z.object({ headers: z.record(z.string(), z.string()), sensitive: z.array(z.string()) }),
    handler: async ({ params }) => splitSensitiveHeaders(await operational.getHeaders(params.endpoint_id)),
  });

  table.define({
    method: 'PUT',
    url: `${base}/:endpoint_id/headers`,
    operationId: 'v1.operational-webhook.endpoint.update-headers',
    summary: 'Replace the custom headers of an operational webhook endpoint',
    tag,
    access: 'admin',
    params: operationalParams,
    body: endpointHeadersIn,
    status: 204,
    handler: async ({ params, body }) => operational.setHeaders(params.endpoint_id, body.headers),
  });
}

/** Header names whose values are hidden when headers are read back. */
const sensitiveHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

function splitSensitiveHeaders(headers: Record<string, string>): { headers: Record<string, string>; sensitive: string[] } {
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
}
