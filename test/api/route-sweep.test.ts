import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestHookline, testAdminToken, type TestHookline } from '../helpers/hookline.js';
import { assertWellFormed, send, type ApiResponse } from './api-response.js';

// Sends a battery of bad requests to every operation of the server's own OpenAPI document
// and checks that none gets a 5xx and every error has the API's JSON error shape.
// route-sweep-scaled.test.ts runs the same sweep on PostgreSQL and Redis.

/** Mode of the swept server; route-sweep-scaled.test.ts sets the variable to `scaled`. */
const sweepMode = process.env.HOOKLINE_SWEEP_MODE === 'scaled' ? 'scaled' : 'embedded';

type JsonSchema = Record<string, any>;

interface Operation {
  method: string;
  /** Path template, such as `/api/v1/app/{app_id}`. */
  template: string;
  pathParams: string[];
  queryParams: string[];
  /** Schema of the JSON object body, when the operation takes one. */
  bodySchema: JsonSchema | undefined;
  isPublic: boolean;
}

interface SweepRequest {
  operation: Operation;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  token?: string;
  /** Body property that contains the bad value, which a 422 must name. */
  property?: string;
}

let hookline: TestHookline;
let operations: Operation[];
let appToken: string;
let logoutToken: string;
/** Ids of resources the sweep may change, by path parameter name. */
const targetIds: Record<string, string> = {};
/** Resources the sweep never names, which must be unchanged afterwards. */
const canary: Record<string, string> = {};

function operationsOf(document: JsonSchema): Operation[] {
  const found: Operation[] = [];
  for (const [template, methods] of Object.entries<JsonSchema>(document.paths)) {
    for (const [method, operation] of Object.entries<JsonSchema>(methods)) {
      const parameters: JsonSchema[] = operation.parameters ?? [];
      const bodySchema: JsonSchema | undefined = operation.requestBody?.content?.['application/json']?.schema;
      found.push({
        method: method.toUpperCase(),
        template,
        pathParams: parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name),
        queryParams: parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name),
        bodySchema: bodySchema ? objectSchema(bodySchema) : undefined,
        isPublic: Array.isArray(operation.security) && operation.security.length === 0,
      });
    }
  }
  return found;
}

function objectSchema(schema: JsonSchema): JsonSchema | undefined {
  if (schema.type === 'object') {
    return schema;
  }
  for (const option of schema.anyOf ?? []) {
    const found = objectSchema(option);
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** Builds a value that the schema accepts, so that one bad property is the only problem of a body. */
function validValue(name: string, schema: JsonSchema): unknown {
  if (schema.anyOf) {
    const option = schema.anyOf.find((candidate: JsonSchema) => candidate.type !== 'null') ?? schema.anyOf[0];
    return validValue(name, option);
  }
  if (name === 'url' || name === 'endpoint') {
    return 'http://127.0.0.1:9/sweep';
  }
  switch (schema.type) {
    case 'string':
      if (schema.format === 'date-time') {
        return new Date(Date.now() - 60_000).toISOString();
      }
      return schema.enum?.[0] ?? 'sweep';
    case 'integer':
    case 'number':
      // Ids such as the workshop's eventId start at 1, so 1 beats a schema minimum below it.
      return typeof schema.minimum === 'number' && schema.minimum > 1 ? schema.minimum : 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'sweep';
  }
}

function validBody(schema: JsonSchema): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    body[name] = validValue(name, schema.properties?.[name] ?? {});
  }
  return body;
}

function nested(depth: number): string {
  return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
}

/** Bodies that are not the expected JSON object, as raw text. */
const badBodies = [
  '',
  ' ',
  '{}',
  'null',
  '[]',
  '[{}]',
  '"text"',
  '0',
  '-1',
  '1e400',
  '123456789012345678901234567890',
  'true',
  '{',
  '{"a":1}}',
  "{'a':1}",
  '\u0000',
  '\ufeff{}',
  '{"a":1,"a":2}',
  '{"__proto__":{"polluted":true}}',
  nested(60),
  nested(200),
  // Deep enough to overflow a recursive JSON.stringify, and still under the size limit.
  nested(50_000),
  JSON.stringify({ text: '😀\u0000\u202e\ud800' }),
  '{"text":"\\udc00\\ud800"}',
  `{"n":1${'0'.repeat(400)}}`,
  `[${'0,'.repeat(100_000)}0]`,
  // Bytes that are not UTF-8: a stray continuation byte, an overlong form, and a lone
  // surrogate encoded as if it were a character (CESU-8).
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
];

/** Values that replace one property of a valid body, as JSON text. */
const badValues = [
  'null',
  'true',
  'false',
  '0',
  '-1',
  '1.5',
  '1e308',
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '""',
  JSON.stringify('x'.repeat(70_000)),
  JSON.stringify('emoji 😀 nul \u0000 rtl \u202e'),
  JSON.stringify('line\r\nbreak'),
  '"\\ud800"',
  '[]',
  '[1,"a",null,{}]',
  '{}',
  '{"nested":{"deeper":[1,{"x":null}]}}',
  JSON.stringify({ 'bad header': 'v', 'x-ok': '😀' }),
  JSON.stringify({ 'x-split': 'a\r\nx-injected: 1' }),
  JSON.stringify({ 'x-cr': 'a\rb' }),
  JSON.stringify({ 'x-lf': 'a\nb' }),
  JSON.stringify({ 'x-nul': 'a\u0000b' }),
  JSON.stringify({ 'x-name\r\n': 'v' }),
  '{"x-surrogate":"\\ud800"}',
  '{"x-\\udfff":"v"}',
  JSON.stringify({ host: 'other.example' }),
  JSON.stringify({ 'webhook-signature': 'v1,forged' }),
  JSON.stringify({ 'x-long': 'x'.repeat(70_000) }),
  JSON.stringify({ 'x-number': 1 }),
  JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, index) => [`x-h${index}`, 'v']))),
];

/** Values for one query parameter at a time, already URL-encoded. */
const badQueryValues = [
  '',
  'abc',
  '-1',
  '0',
  '1.5',
  '1e400',
  '99999999999999999999999',
  'x'.repeat(2000),
  encodeURIComponent('😀'),
  '%00',
  encodeURIComponent('a,b/c'),
  'true',
  '2024-13-45T99:99:99Z',
];

/** Values for one path parameter at a time, already URL-encoded. */
const badPathValues = ['unknown_0', 'a'.repeat(300), 'has%20space', encodeURIComponent('😀'), '%00', '%ZZ', '-', 'x'.repeat(5000)];

/** Content types other than JSON, each sent with a body that would be valid JSON. */
const otherContentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', ''];

function fillPath(operation: Operation, values: Record<string, string>): string {
  let path = operation.template;
  for (const name of operation.pathParams) {
    path = path.replace(`{${name}}`, values[name] ?? 'unknown_0');
  }
  return path;
}

function sweepRequests(operation: Operation): SweepRequest[] {
  const requests: SweepRequest[] = [];
  const takesBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(operation.method);
  const unknownPath = fillPath(operation, {});
  const hasTarget = operation.pathParams.every((name) => targetIds[name] !== undefined);
  const targetPath = hasTarget && operation.method !== 'DELETE' ? fillPath(operation, targetIds) : undefined;
  const paths = targetPath === undefined ? [unknownPath] : [unknownPath, targetPath];

  // Without a token, with a wrong one and with an application token. Logout revokes the
  // token it is called with, so it gets a token of its own.
  const ownToken = operation.template === '/api/v1/auth/logout' ? logoutToken : appToken;
  requests.push({ operation, path: unknownPath });
  requests.push({ operation, path: unknownPath, token: 'wrong-token' });
  requests.push({ operation, path: targetPath ?? unknownPath, token: ownToken });
  if (takesBody) {
    requests.push({ operation, path: targetPath ?? unknownPath, token: ownToken, body: '{}' });
    requests.push({ operation, path: unknownPath, body: '{bad' });
  }

  for (const path of paths) {
    requests.push({ operation, path, token: testAdminToken });

    if (takesBody) {
      for (const body of badBodies) {
        requests.push({ operation, path, token: testAdminToken, body });
      }
      for (const contentType of otherContentTypes) {
        requests.push({ operation, path, token: testAdminToken, body: '{}', headers: { 'content-type': contentType } });
      }
    }

    const schema = operation.bodySchema;
    if (schema) {
      const base = validBody(schema);
      for (const property of Object.keys(schema.properties ?? {})) {
        const others = JSON.stringify({ ...base, [property]: undefined }).slice(1, -1);
        const values = schema.properties[property].type === 'object' ? [...badValues, nested(50_000)] : badValues;
        for (const value of values) {
          const body = `{${others}${others === '' ? '' : ','}${JSON.stringify(property)}:${value}}`;
          requests.push({ operation, path, token: testAdminToken, body, property });
        }
      }
    }

    for (const name of operation.queryParams) {
      for (const value of badQueryValues) {
        requests.push({ operation, path: `${path}?${name}=${value}`, token: testAdminToken });
      }
      requests.push({ operation, path: `${path}?${name}=a&${name}=b`, token: testAdminToken });
    }
  }

  for (const name of operation.pathParams) {
    for (const value of badPathValues) {
      requests.push({ operation, path: fillPath(operation, { ...targetIds, [name]: value }), token: testAdminToken });
    }
  }
  return requests;
}

function describe(request: SweepRequest): string {
  const auth = request.token === undefined ? 'no token' : request.token === testAdminToken ? 'admin' : request.token === appToken ? 'app token' : 'wrong token';
  const bodyText = Buffer.isBuffer(request.body) ? `bytes ${request.body.toString('hex').slice(0, 80)}` : request.body?.slice(0, 80);
  const body = bodyText === undefined ? '' : ` body ${JSON.stringify(bodyText)}`;
  const contentType = request.headers?.['content-type'] === undefined ? '' : ` as ${JSON.stringify(request.headers['content-type'])}`;
  return `${request.operation.method} ${request.path.slice(0, 120)} (${auth})${body}${contentType}`;
}

function checkResponse(request: SweepRequest, response: ApiResponse): string | undefined {
  const context = describe(request);
  try {
    assertWellFormed(response, context);
    if (request.token === undefined && !request.operation.isPublic) {
      assert.equal(response.status, 401, `${context}: status ${response.status} without a token`);
    }
    if (response.status === 422 && request.property !== undefined) {
      const named = response.body.detail.some((item: { loc: string[] }) => item.loc[0] === 'body' && item.loc[1] === request.property);
      assert.ok(named, `${context}: 422 does not name ${request.property}: ${response.text.slice(0, 300)}`);
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

async function runAll(requests: SweepRequest[], concurrency: number): Promise<{ failures: string[]; statuses: Map<number, number> }> {
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next];
      next += 1;
      if (!request) {
        continue;
      }
      const response = await send(hookline.url, request.operation.method, request.path, {
        token: request.token,
        body: request.body,
        headers: request.headers,
      });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const failure = checkResponse(request, response);
      if (failure !== undefined) {
        failures.push(failure);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failures, statuses };
}

before(async () => {
  hookline = await startTestHookline({}, { api: true, worker: false }, sweepMode);

  const canaryApp = await hookline.request('POST', '/api/v1/app', { name: 'Canary', uid: 'canary', metadata: { kept: 'yes' } });
  assert.equal(canaryApp.status, 201);
  canary.appId = canaryApp.body.id;
  const canaryEndpoint = await hookline.request('POST', '/api/v1/app/canary/endpoint', { url: 'http://127.0.0.1:9/canary' });
  assert.equal(canaryEndpoint.status, 201);
  canary.endpointId = canaryEndpoint.body.id;
  const canaryMessage = await hookline.request('POST', '/api/v1/app/canary/msg', { eventType: 'canary.sent', payload: { kept: true } });
  assert.equal(canaryMessage.status, 202);
  canary.msgId = canaryMessage.body.id;
  const canaryEventType = await hookline.request('POST', '/api/v1/event-type', { name: 'canary.type', description: 'Kept' });
  assert.equal(canaryEventType.status, 201);

  const target = await hookline.request('POST', '/api/v1/app', { name: 'Target', uid: 'target' });
  assert.equal(target.status, 201);
  targetIds.app_id = target.body.id;
  const endpoint = await hookline.request('POST', `/api/v1/app/${target.body.id}/endpoint`, { url: 'http://127.0.0.1:9/target' });
  assert.equal(endpoint.status, 201);
  targetIds.endpoint_id = endpoint.body.id;
  const message = await hookline.request('POST', `/api/v1/app/${target.body.id}/msg`, { eventType: 'target.sent', payload: {} });
  assert.equal(message.status, 202);
  targetIds.msg_id = message.body.id;
  targetIds.attempt_id = 'atmpt_unknown';
  const eventType = await hookline.request('POST', '/api/v1/event-type', { name: 'target.type', description: 'Target' });
  assert.equal(eventType.status, 201);
  targetIds.event_type_name = 'target.type';

  const access = await hookline.request('POST', `/api/v1/auth/app-portal-access/${target.body.id}`, {});
  assert.equal(access.status, 200);
  appToken = access.body.token;
  const logoutAccess = await hookline.request('POST', `/api/v1/auth/app-portal-access/${target.body.id}`, {});
  assert.equal(logoutAccess.status, 200);
  logoutToken = logoutAccess.body.token;

  const document = await hookline.request('GET', '/api/v1/openapi.json');
  assert.equal(document.status, 200);
  operations = operationsOf(document.body);
});

after(async () => {
  await hookline.destroy();
});

test('openapi document lists the routes', () => {
  const names = operations.map((operation) => `${operation.method} ${operation.template}`);
  for (const expected of [
    'POST /api/v1/app',
    'POST /api/v1/app/{app_id}/msg',
    'PATCH /api/v1/app/{app_id}/endpoint/{endpoint_id}/headers',
    'POST /api/v1/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend',
    'POST /api/event_subscriptions/add',
  ]) {
    assert.ok(names.includes(expected), `missing ${expected}`);
  }
  assert.ok(operations.length >= 40, `only ${operations.length} operations`);
});

test('bad requests to every route get 4xx', async () => {
  const requests = operations.flatMap(sweepRequests);
  const { failures, statuses } = await runAll(requests, 16);

  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${requests.length} responses were wrong`);
  assert.equal(statuses.get(500) ?? 0, 0);
  // The sweep reached validation, lookups and the token check, not only the router.
  for (const status of [401, 403, 404, 422]) {
    assert.ok((statuses.get(status) ?? 0) > 0, `no response had status ${status}`);
  }

  const serverErrors = hookline.logs.filter((line) => Number(line.level) >= 50);
  assert.deepEqual(serverErrors.map((line) => line.msg), []);
});

test('server healthy and data kept after sweep', async () => {
  const ping = await hookline.request('GET', '/api/v1/health/ping');
  assert.equal(ping.status, 204);
  const ownApp = await send(hookline.url, 'GET', `/api/v1/app/${targetIds.app_id}`, { token: appToken });
  assert.equal(ownApp.status, 200, 'the sweep revoked the application token');
  const health = await hookline.request('GET', '/api/v1/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { database: { status: 'OK' }, queue: { status: 'OK' }, cache: { status: 'OK' } });

  const app = await hookline.request('GET', '/api/v1/app/canary');
  assert.equal(app.status, 200);
  assert.equal(app.body.id, canary.appId);
  assert.equal(app.body.name, 'Canary');
  assert.deepEqual(app.body.metadata, { kept: 'yes' });

  const endpoint = await hookline.request('GET', `/api/v1/app/canary/endpoint/${canary.endpointId}`);
  assert.equal(endpoint.status, 200);
  assert.equal(endpoint.body.url, 'http://127.0.0.1:9/canary');

  const message = await hookline.request('GET', `/api/v1/app/canary/msg/${canary.msgId}`);
  assert.equal(message.status, 200);
  assert.deepEqual(message.body.payload, { kept: true });

  const eventType = await hookline.request('GET', '/api/v1/event-type/canary.type');
  assert.equal(eventType.status, 200);
  assert.equal(eventType.body.archived, false);
  assert.equal(eventType.body.description, 'Kept');
});

/** Sends raw request bytes on a new connection and returns the status line of the response. */
async function rawStatusLine(request: string): Promise<string> {
  const { hostname, port } = new URL(hookline.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
  });
}

test('CR or LF inside request headers gets 400', async () => {
  const requests = [
    `GET /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${testAdminToken}\rX-Injected: 1\r\n\r\n`,
    `POST /api/v1/app HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: a\nb\r\nContent-Length: 2\r\n\r\n{}`,
    'GET /api/v1/health/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: \u0000\r\n\r\n',
  ];
  for (const request of requests) {
    assert.match(await rawStatusLine(request), /^HTTP\/1\.1 400 /, JSON.stringify(request));
  }

  const ping = await hookline.request('GET', '/api/v1/health/ping');
  assert.equal(ping.status, 204);
});
