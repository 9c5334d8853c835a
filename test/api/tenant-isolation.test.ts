import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { answer, startReceiver, type Receiver } from '../delivery/receiver.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';
import { send, type ApiResponse } from './api-response.js';

// Calls every /api/v1 route that the server registered with the token of one application
// (the intruder) against the data of another (the victim). Routes come from Fastify's own
// route tree, so a route added later is swept without changing this file. The OpenAPI
// document only supplies request bodies and marks which routes are public.

type JsonSchema = Record<string, any>;

interface Route {
  method: string;
  /** Path in Fastify's syntax, such as `/api/v1/app/:app_id`. */
  path: string;
  params: string[];
}

interface Victim {
  appId: string;
  endpointId: string;
  msgId: string;
  attemptId: string;
  secret: string;
}

/** Texts that only the victim's data contains; no response to the intruder may include one. */
const victimMarkers = {
  name: 'Victim Corporation 7f3a',
  metadata: 'victim-metadata-51c2',
  url: 'http://127.0.0.1:9/victim-endpoint-8d1e',
  header: 'victim-header-value-2b9f',
  payload: 'victim-payload-c04d',
  description: 'victim-endpoint-description-a7e3',
};

/**
 * Routes that an application token may call although they name no application. The example
 * payload of an event type is made from that event type alone, which the token may read.
 */
const sharedRoutes = new Set([
  'GET /api/v1/event-type',
  'GET /api/v1/event-type/:event_type_name',
  'GET /api/v1/event-type/:event_type_name/example',
  'POST /api/v1/auth/logout',
]);

let hookline: TestHookline;
let receiver: Receiver;
let openapi: JsonSchema;
let routes: Route[];
let intruderAppId: string;
let intruderToken: string;
const victim = {} as Victim;

/**
 * Reads every route from Fastify's route tree, printed one node a line with its methods.
 * Each level of the tree is indented by four characters.
 */
function routesOf(tree: string): Route[] {
  const found: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) {
      continue;
    }
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(match[2] ?? '');
    const path = stack.join('');
    for (const method of (match[3] ?? '').split(',').map((entry) => entry.trim())) {
      if (method !== '' && method !== 'HEAD' && path.startsWith('/api/v1/')) {
        found.push({ method, path, params: [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((param) => param[1] ?? '') });
      }
    }
  }
  return found;
}

function operationOf(route: Route): JsonSchema | undefined {
  return openapi.paths?.[route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[route.method.toLowerCase()];
}

function isPublic(route: Route): boolean {
  const security = operationOf(route)?.security;
  return Array.isArray(security) && security.length === 0;
}

function validValue(name: string, schema: JsonSchema): unknown {
  if (schema.anyOf) {
    return validValue(name, schema.anyOf.find((option: JsonSchema) => option.type !== 'null') ?? schema.anyOf[0]);
  }
  if (name === 'url') {
    return 'http://127.0.0.1:9/intruder';
  }
  switch (schema.type) {
    case 'string':
      return schema.format === 'date-time' ? new Date(Date.now() - 3_600_000).toISOString() : (schema.enum?.[0] ?? 'intruder');
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' && schema.minimum > 1 ? schema.minimum : 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'intruder';
  }
}

/** Builds a body that the route's schema accepts, so that a request gets past validation to the lookup. */
function validBody(route: Route): string | undefined {
  if (!['POST', 'PUT', 'PATCH'].includes(route.method)) {
    return undefined;
  }
  let schema: JsonSchema | undefined = operationOf(route)?.requestBody?.content?.['application/json']?.schema;
  schema = schema?.anyOf?.find((option: JsonSchema) => option.type === 'object') ?? schema;
  const body: Record<string, unknown> = {};
  for (const name of schema?.required ?? []) {
    body[name] = validValue(name, schema?.properties?.[name] ?? {});
  }
  return JSON.stringify(body);
}

/** Returns the victim's id for a path parameter, chosen by the parameter's name. */
function victimValue(param: string): string {
  if (param === 'app_id') {
    return victim.appId;
  }
  if (param.includes('endpoint')) {
    return victim.endpointId;
  }
  if (param.includes('msg')) {
    return victim.msgId;
  }
  if (param.includes('attempt')) {
    return victim.attemptId;
  }
  if (param.includes('event_type')) {
    return 'victim.created';
  }
  return 'unknown_0';
}

function fill(route: Route, values: (param: string) => string): string {
  return route.path.replace(/:([A-Za-z0-9_]+)/g, (_whole, name: string) => encodeURIComponent(values(name)));
}

/** Builds a query string that sets the route's resource id parameters to the victim's ids. */
function victimQuery(route: Route): string {
  const parameters: JsonSchema[] = operationOf(route)?.parameters ?? [];
  const names = parameters.filter((parameter) => parameter.in === 'query' && /_id$/.test(parameter.name)).map((parameter) => parameter.name as string);
  return names.length === 0 ? '' : `?${names.map((name) => `${name}=${encodeURIComponent(victimValue(name))}`).join('&')}`;
}

function leakedMarker(response: ApiResponse): string | undefined {
  const markers = [...Object.values(victimMarkers), victim.secret.slice('whsec_'.length)];
  return markers.find((marker) => response.text.includes(marker));
}

/**
 * Sends one request as the intruder. A route that responds with an event stream of the
 * intruder's own application never ends its body, so only the first chunk of a stream is read.
 */
async function call(route: Route, path: string, token: string): Promise<ApiResponse> {
  const body = validBody(route);
  const response = await fetch(`${hookline.url}${path}`, {
    method: route.method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body,
  });
  const contentType = response.headers.get('content-type') ?? '';
  let text: string;
  if (contentType.startsWith('text/event-stream')) {
    // A stream may stay silent until an event happens, so reading stops after a second.
    const reader = response.body?.getReader();
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 1_000);
    });
    const first = reader === undefined ? undefined : await Promise.race([reader.read(), silence]);
    clearTimeout(timer);
    await reader?.cancel();
    text = first?.value === undefined ? '' : Buffer.from(first.value).toString('utf8');
  } else {
    text = await response.text();
  }
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, contentType, text, body: parsed };
}

before(async () => {
  receiver = await startReceiver(answer(200, 'ok'));
  hookline = await startTestHookline({}, { api: true, worker: true });

  const victimApp = await hookline.request('POST', '/api/v1/app', { name: victimMarkers.name, uid: 'victim', metadata: { tag: victimMarkers.metadata } });
  assert.equal(victimApp.status, 201);
  victim.appId = victimApp.body.id;
  const eventType = await hookline.request('POST', '/api/v1/event-type', { name: 'victim.created', description: 'Shared catalog entry' });
  assert.equal(eventType.status, 201);
  const endpoint = await hookline.request('POST', '/api/v1/app/victim/endpoint', {
    url: `http://127.0.0.1:${receiver.port}/victim`,
    description: victimMarkers.description,
    headers: { 'x-victim': victimMarkers.header },
    metadata: { tag: victimMarkers.metadata },
  });
  assert.equal(endpoint.status, 201);
  victim.endpointId = endpoint.body.id;
  const secret = await hookline.request('GET', `/api/v1/app/victim/endpoint/${victim.endpointId}/secret`);
  victim.secret = secret.body.key;
  const message = await hookline.request('POST', '/api/v1/app/victim/msg', { eventType: 'victim.created', payload: { marker: victimMarkers.payload } });
  assert.equal(message.status, 202);
  victim.msgId = message.body.id;
  let attempts: any;
  await waitFor(async () => {
    attempts = await hookline.request('GET', `/api/v1/app/victim/attempt/msg/${victim.msgId}`);
    return attempts.body?.data?.length > 0;
  });
  victim.attemptId = attempts.body.data[0].id;
  // The endpoint URL changes only now, so that the delivery above reached the receiver.
  const moved = await hookline.request('PATCH', `/api/v1/app/victim/endpoint/${victim.endpointId}`, { url: victimMarkers.url });
  assert.equal(moved.status, 200);

  const intruder = await hookline.request('POST', '/api/v1/app', { name: 'Intruder', uid: 'intruder' });
  assert.equal(intruder.status, 201);
  intruderAppId = intruder.body.id;
  const access = await hookline.request('POST', `/api/v1/auth/app-portal-access/${intruderAppId}`, {});
  assert.equal(access.status, 200);
  intruderToken = access.body.token;

  openapi = (await hookline.request('GET', '/api/v1/openapi.json')).body;
  routes = routesOf(hookline.server?.printRoutes({ commonPrefix: false }) ?? '');
});

after(async () => {
  await hookline.destroy();
  await receiver.close();
});

test('route tree lists the v1 routes', () => {
  const names = routes.map((route) => `${route.method} ${route.path}`);
  for (const expected of [
    'GET /api/v1/app/:app_id/endpoint/:endpoint_id/secret',
    'POST /api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
    'GET /api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id',
    'DELETE /api/v1/event-type/:event_type_name',
    'POST /api/v1/auth/logout',
  ]) {
    assert.ok(names.includes(expected), `missing ${expected}`);
  }
  // Every route of the OpenAPI document was found in the tree.
  for (const [template, methods] of Object.entries<JsonSchema>(openapi.paths)) {
    for (const method of Object.keys(methods)) {
      if (template.startsWith('/api/v1/')) {
        assert.ok(names.includes(`${method.toUpperCase()} ${template.replace(/\{([^}]+)\}/g, ':$1')}`), `${method} ${template} not in the tree`);
      }
    }
  }
});

test('other application token never gets data', async () => {
  const failures: string[] = [];
  const intruderRoutes = routes.filter((route) => !isPublic(route) && !sharedRoutes.has(`${route.method} ${route.path}`));
  assert.ok(intruderRoutes.length >= 30, `only ${intruderRoutes.length} routes`);

  for (const route of intruderRoutes) {
    const paths = [fill(route, victimValue) + victimQuery(route)];
    if (route.params.includes('app_id')) {
      paths.push(fill(route, (param) => (param === 'app_id' ? 'victim' : victimValue(param))) + victimQuery(route));
    }
    for (const path of paths) {
      const response = await call(route, path, intruderToken);
      if (![401, 403, 404].includes(response.status)) {
        failures.push(`${route.method} ${path}: status ${response.status} ${response.text.slice(0, 200)}`);
      }
      const leaked = leakedMarker(response);
      if (leaked !== undefined) {
        failures.push(`${route.method} ${path}: response contains ${leaked}`);
      }
    }
  }
  assert.deepEqual(failures, []);
});

test('own application path with other ids gets 404', async () => {
  const failures: string[] = [];
  const nested = routes.filter((route) => route.params.includes('app_id') && route.params.length > 1);
  assert.ok(nested.length >= 15, `only ${nested.length} routes`);

  for (const route of nested) {
    const path = fill(route, (param) => (param === 'app_id' ? intruderAppId : victimValue(param)));
    const response = await call(route, path, intruderToken);
    // 403 comes from admin-only routes. The others must not find the other application's resources.
    if (![403, 404].includes(response.status)) {
      failures.push(`${route.method} ${path}: status ${response.status} ${response.text.slice(0, 200)}`);
    }
    const leaked = leakedMarker(response);
    if (leaked !== undefined) {
      failures.push(`${route.method} ${path}: response contains ${leaked}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('own lists never name the other application', async () => {
  const lists = routes.filter((route) => route.method === 'GET' && route.params.length === 1 && route.params[0] === 'app_id');
  assert.ok(lists.length >= 3, `only ${lists.length} routes`);

  for (const route of lists) {
    const path = fill(route, () => intruderAppId) + victimQuery(route);
    const response = await call(route, path, intruderToken);
    assert.ok(response.status < 500, `${path}: status ${response.status}`);
    assert.equal(leakedMarker(response), undefined, `${path} leaks the other application's data`);
    assert.ok(!response.text.includes(victim.endpointId), `${path} names the other application's endpoint`);
    assert.ok(!response.text.includes(victim.msgId), `${path} names the other application's message`);
  }
});

test('shared catalog readable but not writable', async () => {
  const list = await send(hookline.url, 'GET', '/api/v1/event-type', { token: intruderToken });
  assert.equal(list.status, 200);
  assert.ok(list.body.data.some((eventType: { name: string }) => eventType.name === 'victim.created'));

  for (const [method, path, body] of [
    ['POST', '/api/v1/event-type', JSON.stringify({ name: 'intruder.made', description: 'x' })],
    ['PUT', '/api/v1/event-type/victim.created', JSON.stringify({ description: 'changed' })],
    ['PATCH', '/api/v1/event-type/victim.created', JSON.stringify({ description: 'changed' })],
    ['DELETE', '/api/v1/event-type/victim.created', undefined],
  ] as const) {
    const response = await send(hookline.url, method, path, { token: intruderToken, body });
    assert.equal(response.status, 403, `${method} ${path}`);
  }
});

test('victim data unchanged after the sweep', async () => {
  const app = await hookline.request('GET', '/api/v1/app/victim');
  assert.equal(app.body.name, victimMarkers.name);
  assert.deepEqual(app.body.metadata, { tag: victimMarkers.metadata });

  const endpoint = await hookline.request('GET', `/api/v1/app/victim/endpoint/${victim.endpointId}`);
  assert.equal(endpoint.status, 200);
  assert.equal(endpoint.body.url, victimMarkers.url);
  assert.equal(endpoint.body.description, victimMarkers.description);
  assert.equal(endpoint.body.disabled, false);
  const headers = await hookline.request('GET', `/api/v1/app/victim/endpoint/${victim.endpointId}/headers`);
  assert.deepEqual(headers.body.headers, { 'x-victim': victimMarkers.header });
  const secret = await hookline.request('GET', `/api/v1/app/victim/endpoint/${victim.endpointId}/secret`);
  assert.equal(secret.body.key, victim.secret);

  const message = await hookline.request('GET', `/api/v1/app/victim/msg/${victim.msgId}`);
  assert.equal(message.status, 200);
  assert.deepEqual(message.body.payload, { marker: victimMarkers.payload });
  const attempts = await hookline.request('GET', `/api/v1/app/victim/attempt/msg/${victim.msgId}`);
  assert.equal(attempts.body.data.length, 1, 'the intruder triggered a resend');

  const eventType = await hookline.request('GET', '/api/v1/event-type/victim.created');
  assert.equal(eventType.body.description, 'Shared catalog entry');
  assert.equal(eventType.body.archived, false);
  // The intruder's token still works, so every 401 above came from the route, not a revoked token.
  assert.equal((await send(hookline.url, 'GET', `/api/v1/app/${intruderAppId}`, { token: intruderToken })).status, 200);
  assert.notEqual(testAdminToken, intruderToken);
});
