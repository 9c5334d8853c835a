import { z } from 'zod';
import type { RegisteredRoute } from './route-table.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(type: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const schema = z.toJSONSchema(type, { io, unrepresentable: 'any' }) as JsonSchema;
  delete schema.$schema;
  return schema;
}

function parametersOf(type: z.ZodType | undefined, location: 'path' | 'query'): unknown[] {
  if (!type) {
    return [];
  }
  const schema = schemaOf(type, 'input');
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: property,
  }));
}

const errorBody = {
  type: 'object',
  required: ['code', 'detail'],
  properties: { code: { type: 'string' }, detail: { type: 'string' } },
};

const validationBody = {
  type: 'object',
  required: ['detail'],
  properties: {
    detail: {
      type: 'array',
      items: {
        type: 'object',
        required: ['loc', 'msg', 'type'],
        properties: { loc: { type: 'array', items: { type: 'string' } }, msg: { type: 'string' }, type: { type: 'string' } },
      },
    },
  },
};

function successResponse(route: RegisteredRoute): Record<string, unknown> {
  if (route.responseMediaType) {
    return { description: 'Success', content: { [route.responseMediaType]: { schema: { type: 'string' } } } };
  }
  if (route.response) {
    return { description: 'Success', content: { 'application/json': { schema: schemaOf(route.response, 'output') } } };
  }
  return { description: 'Success' };
}

/** Builds the OpenAPI 3.1 document of every route in the table. */
export function buildOpenApiDocument(routes: RegisteredRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([a-z_]+)/g, '{$1}');
    const parameters = [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')];
    if (route.idempotent) {
      parameters.push({
        name: 'idempotency-key',
        in: 'header',
        required: false,
        description: 'Repeating a request with the same key within 24 hours returns the first response.',
        schema: { type: 'string', maxLength: 256 },
      });
    }

    const responses: Record<string, unknown> = {
      [String(route.status)]: successResponse(route),
      '400': { description: 'Bad request', content: { 'application/json': { schema: errorBody } } },
      '422': { description: 'Validation error', content: { 'application/json': { schema: validationBody } } },
    };
    if (route.access !== 'public') {
      responses['401'] = { description: 'Missing or invalid token', content: { 'application/json': { schema: errorBody } } };
      responses['403'] = { description: 'Token not allowed here', content: { 'application/json': { schema: errorBody } } };
    }
    if (route.body) {
      responses['413'] = { description: 'Request body larger than HOOKLINE_MAX_PAYLOAD_SIZE', content: { 'application/json': { schema: errorBody } } };
      responses['415'] = { description: 'Content type other than application/json', content: { 'application/json': { schema: errorBody } } };
    }
    if (route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH') {
      responses['409'] = {
        description: 'Conflict with stored data, such as a uid or eventId already taken, or an Idempotency-Key still in use',
        content: { 'application/json': { schema: errorBody } },
      };
    }
    if (route.params || route.method !== 'GET') {
      responses['404'] = { description: 'Not found', content: { 'application/json': { schema: errorBody } } };
    }

    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters,
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }
        : {}),
      responses,
      ...(route.access === 'public' ? { security: [] } : {}),
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookline API',
      version,
      description:
        'Webhook delivery API, compatible with the open-source Svix server: Svix client libraries work when pointed at this server.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
