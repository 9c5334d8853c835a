import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHookline, testAdminToken, type TestHookline } from '../helpers/hookline.js';
import { assertWellFormed, send } from './api-response.js';

const maxPayloadSize = 4096;

let hookline: TestHookline;
let appId: string;
let endpointId: string;

before(async () => {
  hookline = await startTestHookline({ maxPayloadSize }, { api: true, worker: false });
  const app = await hookline.request('POST', '/api/v1/app', { name: 'Bad input', uid: 'bad-input' });
  assert.equal(app.status, 201);
  appId = app.body.id;
  const endpoint = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', { url: 'http://127.0.0.1:9/hook' });
  assert.equal(endpoint.status, 201);
  endpointId = endpoint.body.id;
});

after(async () => {
  await hookline.destroy();
});

/** Builds a 422 body with one item, as the API sends it. */
function problem(loc: string[], msg: string, type: string) {
  return { detail: [{ loc, msg, type }] };
}

function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return send(hookline.url, method, path, { token: testAdminToken, body, headers });
}

test('invalid JSON body gets 400', async () => {
  for (const text of ['{bad', '{"name": "x",}', '{"name": "x"', "{'name': 'x'}", 'NaN']) {
    const response = await raw('POST', '/api/v1/app', text);
    assert.equal(response.status, 400, text);
    assert.equal(response.body.code, 'bad_request', text);
    assert.match(response.body.detail, /^Request body is not valid JSON: .+\.$/, text);
  }
});

test('non-object body gets 422 naming the body', async () => {
  const cases: [string, string][] = [
    ['[]', 'an array'],
    ['[{"name":"x"}]', 'an array'],
    ['null', 'null'],
    ['"text"', '"text"'],
    ['42', 'the number 42'],
    ['true', 'the boolean true'],
  ];
  for (const [text, described] of cases) {
    const response = await raw('POST', '/api/v1/app', text);
    assert.equal(response.status, 422, text);
    assert.deepEqual(
      response.body,
      problem(['body'], `Request body must be a JSON object; received ${described}.`, 'type_error.object'),
      text,
    );
  }
});

test('missing body gets 422', async () => {
  const response = await raw('POST', '/api/v1/app');
  assert.equal(response.status, 422);
  assert.deepEqual(response.body, problem(['body'], 'Request body is required; send a JSON object.', 'value_error.missing'));
});

test('missing required fields get 422', async () => {
  const message = await hookline.request('POST', '/api/v1/app/bad-input/msg', { payload: {} });
  assert.equal(message.status, 422);
  assert.deepEqual(message.body, problem(['body', 'eventType'], 'eventType is required.', 'value_error.missing'));

  const endpoint = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', { description: 'no url' });
  assert.equal(endpoint.status, 422);
  assert.deepEqual(endpoint.body, problem(['body', 'url'], 'url is required.', 'value_error.missing'));

  const app = await hookline.request('POST', '/api/v1/app', {});
  assert.equal(app.status, 422);
  assert.deepEqual(app.body, problem(['body', 'name'], 'name is required.', 'value_error.missing'));

  const eventType = await hookline.request('POST', '/api/v1/event-type', {});
  assert.equal(eventType.status, 422);
  assert.deepEqual(eventType.body, {
    detail: [
      { loc: ['body', 'name'], msg: 'name is required.', type: 'value_error.missing' },
      { loc: ['body', 'description'], msg: 'description is required.', type: 'value_error.missing' },
    ],
  });

  const recover = await hookline.request('POST', `/api/v1/app/bad-input/endpoint/${endpointId}/recover`, {});
  assert.equal(recover.status, 422);
  assert.deepEqual(recover.body, problem(['body', 'since'], 'since is required.', 'value_error.missing'));
});

test('wrong types get 422 naming the field', async () => {
  const cases: { path: string; body: unknown; expected: ReturnType<typeof problem> }[] = [
    {
      path: '/api/v1/app',
      body: { name: 5 },
      expected: problem(['body', 'name'], 'name must be a string; received the number 5.', 'type_error.string'),
    },
    {
      path: '/api/v1/app',
      body: { name: 'x', throttleRate: 'fast' },
      expected: problem(['body', 'throttleRate'], 'throttleRate must be a number; received "fast".', 'type_error.number'),
    },
    {
      path: '/api/v1/app',
      body: { name: 'x', throttleRate: 2.5 },
      expected: problem(['body', 'throttleRate'], 'throttleRate must be a whole number; received the number 2.5.', 'type_error.int'),
    },
    {
      path: '/api/v1/app',
      body: { name: 'x', throttleRate: 1e300 },
      expected: problem(['body', 'throttleRate'], 'throttleRate must be at most 65535; received the number 1e+300.', 'value_error.too_big'),
    },
    {
      path: '/api/v1/app',
      body: { name: 'x', metadata: { team: 1 } },
      expected: problem(['body', 'metadata', 'team'], 'metadata.team must be a string; received the number 1.', 'type_error.string'),
    },
    {
      path: '/api/v1/app/bad-input/endpoint',
      body: { url: 'http://127.0.0.1:9/', disabled: 'true' },
      expected: problem(['body', 'disabled'], 'disabled must be true or false; received "true".', 'type_error.boolean'),
    },
    {
      path: '/api/v1/app/bad-input/endpoint',
      body: { url: 42 },
      expected: problem(['body', 'url'], 'url must be a string; received the number 42.', 'type_error.string'),
    },
    {
      path: '/api/v1/app/bad-input/endpoint',
      body: { url: 'http://127.0.0.1:9/', eventTypes: ['a', 'a'] },
      expected: problem(['body', 'eventTypes'], 'eventTypes must not contain the same item twice.', 'value_error.custom'),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'a', payload: [] },
      expected: problem(['body', 'payload'], 'payload must be a JSON object; received an array.', 'type_error.record'),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'a', payload: {}, channels: 'x' },
      expected: problem(['body', 'channels'], 'channels must be an array; received "x".', 'type_error.array'),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'a', payload: {}, channels: ['a', 7] },
      expected: problem(['body', 'channels', '1'], 'channels[1] must be a string; received the number 7.', 'type_error.string'),
    },
    {
      path: '/api/v1/event-type',
      body: { name: 'a', description: 'd', archived: 'no' },
      expected: problem(['body', 'archived'], 'archived must be true or false; received "no".', 'type_error.boolean'),
    },
  ];
  for (const { path, body, expected } of cases) {
    const response = await hookline.request('POST', path, body);
    assert.equal(response.status, 422, JSON.stringify(body));
    assert.deepEqual(response.body, expected, JSON.stringify(body));
  }
});

test('too long strings get 422', async () => {
  const long = 'a'.repeat(257);
  const cases: { path: string; body: unknown; expected: ReturnType<typeof problem> }[] = [
    {
      path: '/api/v1/app',
      body: { name: 'x', uid: long },
      expected: problem(['body', 'uid'], 'uid must be at most 256 characters long; received 257 characters.', 'value_error.too_big'),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: long, payload: {} },
      expected: problem(
        ['body', 'eventType'],
        'eventType must be at most 256 characters long; received 257 characters.',
        'value_error.too_big',
      ),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'a', payload: {}, channels: ['c'.repeat(129)] },
      expected: problem(
        ['body', 'channels', '0'],
        'channels[0] must be at most 128 characters long; received 129 characters.',
        'value_error.too_big',
      ),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'a', payload: {}, channels: ['a', 'b', 'c', 'd', 'e', 'f'] },
      expected: problem(['body', 'channels'], 'channels must have at most 5 items; received 6.', 'value_error.too_big'),
    },
    {
      path: '/api/v1/app',
      body: { name: '' },
      expected: problem(['body', 'name'], 'name must not be empty.', 'value_error.too_small'),
    },
  ];
  for (const { path, body, expected } of cases) {
    const response = await hookline.request('POST', path, body);
    assert.equal(response.status, 422, JSON.stringify(body).slice(0, 100));
    assert.deepEqual(response.body, expected);
  }
});

test('invalid patterns get 422 quoting the value', async () => {
  const identifierRule = 'may contain only letters, digits, "-", "_" and "."';
  const cases: { path: string; body: unknown; expected: ReturnType<typeof problem> }[] = [
    {
      path: '/api/v1/app',
      body: { name: 'x', uid: 'has space' },
      expected: problem(['body', 'uid'], `uid ${identifierRule}; received "has space".`, 'value_error.invalid_format'),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'trap/set', payload: {} },
      expected: problem(['body', 'eventType'], `eventType ${identifierRule}; received "trap/set".`, 'value_error.invalid_format'),
    },
    {
      path: '/api/v1/app/bad-input/msg',
      body: { eventType: 'a', payload: {}, eventId: 'ünïcode' },
      expected: problem(['body', 'eventId'], `eventId ${identifierRule}; received "ünïcode".`, 'value_error.invalid_format'),
    },
    {
      path: '/api/v1/event-type',
      body: { name: 'emoji-😀', description: 'd' },
      expected: problem(['body', 'name'], `name ${identifierRule}; received "emoji-😀".`, 'value_error.invalid_format'),
    },
    {
      path: '/api/v1/app',
      body: { name: 'nul\u0000name' },
      expected: problem(
        ['body', 'name'],
        'name must not contain NUL characters; received "nul\\u0000name".',
        'value_error.invalid_format',
      ),
    },
  ];
  for (const { path, body, expected } of cases) {
    const response = await hookline.request('POST', path, body);
    assert.equal(response.status, 422, JSON.stringify(body));
    assert.deepEqual(response.body, expected);
  }
});

test('invalid endpoint URLs get 422', async () => {
  const cases: [string, string, string][] = [
    ['ftp://files.example/hook', 'URL scheme "ftp" is not supported; use http or https.', 'value_error.url.scheme'],
    [
      'http://user:pass@host.example/',
      'URL must not contain credentials; send them in a custom header such as Authorization instead.',
      'value_error.url.credentials',
    ],
    ['not a url', '"not a url" is not a valid URL; expected an absolute http or https URL.', 'value_error.url'],
    ['', 'url must not be empty.', 'value_error.too_small'],
    ['/relative/path', '"/relative/path" is not a valid URL; expected an absolute http or https URL.', 'value_error.url'],
    [
      'http://host.example/a\nb',
      'URL contains a control character such as a line break or tab; remove it or percent-encode it.',
      'value_error.url',
    ],
  ];
  for (const [url, msg, type] of cases) {
    const created = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', { url });
    assert.equal(created.status, 422, url);
    assert.deepEqual(created.body, problem(['body', 'url'], msg, type), url);
  }

  const patched = await hookline.request('PATCH', `/api/v1/app/bad-input/endpoint/${endpointId}`, { url: 'ftp://files.example/' });
  assert.equal(patched.status, 422);
  assert.deepEqual(patched.body.detail[0].loc, ['body', 'url']);
});

test('unknown ids get 404', async () => {
  const cases: [string, string][] = [
    ['/api/v1/app/app_unknown', 'Application "app_unknown" not found.'],
    ['/api/v1/app/app_unknown/endpoint', 'Application "app_unknown" not found.'],
    [`/api/v1/app/${appId}/endpoint/ep_unknown`, 'Endpoint "ep_unknown" not found.'],
    ['/api/v1/app/bad-input/msg/msg_unknown', 'Message "msg_unknown" not found.'],
    ['/api/v1/event-type/unknown.type', 'Event type "unknown.type" not found.'],
  ];
  for (const [path, detail] of cases) {
    const response = await hookline.request('GET', path);
    assert.equal(response.status, 404, path);
    assert.deepEqual(response.body, { code: 'not_found', detail }, path);
  }

  const message = await hookline.request('POST', '/api/v1/app/bad-input/msg', { eventType: 'a', payload: {} });
  assert.equal(message.status, 202);
  const attempt = await hookline.request('GET', `/api/v1/app/bad-input/msg/${message.body.id}/attempt/atmpt_unknown`);
  assert.equal(attempt.status, 404);
  assert.deepEqual(attempt.body, { code: 'not_found', detail: 'Message attempt "atmpt_unknown" not found.' });

  const deleted = await hookline.request('DELETE', '/api/v1/app/app_unknown');
  assert.equal(deleted.status, 404);
  assert.equal(deleted.body.code, 'not_found');
});

test('oversized body gets 413', async () => {
  const response = await hookline.request('POST', '/api/v1/app/bad-input/msg', {
    eventType: 'big',
    payload: { text: 'x'.repeat(maxPayloadSize) },
  });
  assert.equal(response.status, 413);
  assert.deepEqual(response.body, {
    code: 'payload_too_large',
    detail: 'Request body is larger than 4096 bytes (HOOKLINE_MAX_PAYLOAD_SIZE); send a smaller body.',
  });
});

test('deeply nested body gets 400', async () => {
  const depth = 200;
  const payload = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const response = await raw('POST', '/api/v1/app/bad-input/msg', `{"eventType":"deep","payload":${payload}}`);
  assert.equal(response.status, 400);
  assert.deepEqual(response.body, {
    code: 'bad_request',
    detail: 'Request body nests objects and arrays more than 128 levels deep; flatten the JSON.',
  });

  // Brackets inside strings do not count as nesting.
  const inString = await hookline.request('POST', '/api/v1/app/bad-input/msg', { eventType: 'flat', payload: { text: '['.repeat(300) } });
  assert.equal(inString.status, 202);
});

test('__proto__ key gets 400', async () => {
  for (const text of ['{"name":"p","__proto__":{"admin":true}}', '{"name":"p","constructor":{"prototype":{"admin":true}}}']) {
    const response = await raw('POST', '/api/v1/app', text);
    assert.equal(response.status, 400, text);
    assert.equal(response.body.code, 'bad_request');
    assert.match(response.body.detail, /"__proto__" key/);
  }
});

test('unsupported content type gets 415', async () => {
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const response = await raw('POST', '/api/v1/app', '{"name":"x"}', { 'content-type': contentType });
    assert.equal(response.status, 415, contentType);
    assert.deepEqual(response.body, {
      code: 'unsupported_media_type',
      detail: `Content type "${contentType}" is not supported; send the body as application/json.`,
    });
  }
});

test('unknown route gets 404 JSON', async () => {
  const response = await hookline.request('GET', '/api/v1/no-such-route');
  assert.equal(response.status, 404);
  assert.deepEqual(response.body, { code: 'not_found', detail: 'No route GET /api/v1/no-such-route.' });
});

test('wrong method gets 404 JSON', async () => {
  for (const [method, path] of [
    ['DELETE', '/api/v1/app'],
    ['PATCH', '/api/v1/health'],
    ['PUT', '/api/v1/app/bad-input/msg'],
  ] as const) {
    const response = await hookline.request(method, path, method === 'PUT' ? {} : undefined);
    assert.equal(response.status, 404, `${method} ${path}`);
    assert.deepEqual(response.body, { code: 'not_found', detail: `No route ${method} ${path}.` });
  }
});

test('list query values are checked', async () => {
  const cases: [string, unknown][] = [
    ['/api/v1/app?limit=0', problem(['query', 'limit'], 'limit must be at least 1; received the number 0.', 'value_error.too_small')],
    [
      '/api/v1/app?limit=9999',
      problem(['query', 'limit'], 'limit must be at most 250; received the number 9999.', 'value_error.too_big'),
    ],
    ['/api/v1/app?limit=abc', problem(['query', 'limit'], 'limit must be a number; received "abc".', 'type_error.number')],
    [
      '/api/v1/app?limit=1.5',
      problem(['query', 'limit'], 'limit must be a whole number; received the number 1.5.', 'type_error.int'),
    ],
    [
      '/api/v1/app?order=up',
      problem(['query', 'order'], 'order must be one of "ascending", "descending"; received "up".', 'value_error.invalid_value'),
    ],
    [
      '/api/v1/app?iterator=not%20an%20iterator',
      problem(
        ['query', 'iterator'],
        'iterator must be the iterator or prevIterator of a page of this list; received "not an iterator".',
        'value_error.invalid_format',
      ),
    ],
    [
      '/api/v1/app/bad-input/msg?before=not-a-date',
      problem(
        ['query', 'before'],
        'before must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z; received "not-a-date".',
        'value_error.invalid_format',
      ),
    ],
    [
      '/api/v1/app/bad-input/msg?with_content=maybe',
      problem(['query', 'with_content'], 'with_content must be one of "true", "false"; received "maybe".', 'value_error.invalid_value'),
    ],
    [
      `/api/v1/app/bad-input/attempt/endpoint/${endpointId}?status=7`,
      problem(
        ['query', 'status'],
        'status must be 0 (success), 1 (pending), 2 (fail) or 3 (sending); received "7".',
        'value_error.invalid_value',
      ),
    ],
    [
      `/api/v1/app/bad-input/attempt/endpoint/${endpointId}?status_code_class=201`,
      problem(
        ['query', 'status_code_class'],
        'status_code_class must be 0 (no response), 100, 200, 300, 400 or 500 (the first digit of the status code, then 00); received "201".',
        'value_error.invalid_value',
      ),
    ],
  ];
  for (const [path, expected] of cases) {
    const response = await hookline.request('GET', path);
    assert.equal(response.status, 422, path);
    assert.deepEqual(response.body, expected, path);
  }

  const repeated = await hookline.request('GET', '/api/v1/app?limit=1&limit=2');
  assert.equal(repeated.status, 422);
  assert.deepEqual(repeated.body.detail[0].loc, ['query', 'limit']);
});

test('unknown but well-formed iterator gives empty page', async () => {
  const response = await hookline.request('GET', '/api/v1/app?iterator=zzz');
  assert.equal(response.status, 200);
  assert.deepEqual(response.body.data, []);
  assert.equal(response.body.done, true);
});

test('event_types repeated or comma-separated', async () => {
  const app = await hookline.request('POST', '/api/v1/app', { name: 'Filters', uid: 'filters' });
  assert.equal(app.status, 201);
  for (const eventType of ['alpha', 'beta', 'gamma']) {
    const message = await hookline.request('POST', '/api/v1/app/filters/msg', { eventType, payload: {} });
    assert.equal(message.status, 202);
  }

  const repeated = await hookline.request('GET', '/api/v1/app/filters/msg?event_types=alpha&event_types=beta');
  assert.equal(repeated.status, 200);
  assert.deepEqual(repeated.body.data.map((message: { eventType: string }) => message.eventType).sort(), ['alpha', 'beta']);

  const commas = await hookline.request('GET', '/api/v1/app/filters/msg?event_types=alpha,gamma');
  assert.equal(commas.status, 200);
  assert.deepEqual(commas.body.data.map((message: { eventType: string }) => message.eventType).sort(), ['alpha', 'gamma']);

  const invalid = await hookline.request('GET', '/api/v1/app/filters/msg?event_types=alpha,a/b');
  assert.equal(invalid.status, 422);
  assert.deepEqual(
    invalid.body,
    problem(
      ['query', 'event_types', '1'],
      'event_types[1] may contain only letters, digits, "-", "_" and "."; received "a/b".',
      'value_error.invalid_format',
    ),
  );
});

test('path ids are checked', async () => {
  const longest = 'u'.repeat(256);
  const created = await hookline.request('POST', '/api/v1/app', { name: 'Long uid', uid: longest });
  assert.equal(created.status, 201);
  const found = await hookline.request('GET', `/api/v1/app/${longest}`);
  assert.equal(found.status, 200);
  assert.equal(found.body.uid, longest);

  const tooLong = await hookline.request('GET', `/api/v1/app/${'u'.repeat(257)}`);
  assert.equal(tooLong.status, 422);
  assert.deepEqual(
    tooLong.body,
    problem(['path', 'app_id'], 'app_id must be at most 256 characters long; received 257 characters.', 'value_error.too_big'),
  );

  const veryLong = await hookline.request('GET', `/api/v1/app/bad-input/endpoint/${'e'.repeat(5000)}`);
  assert.equal(veryLong.status, 422);
  assert.deepEqual(veryLong.body.detail[0].loc, ['path', 'endpoint_id']);

  const spaces = await hookline.request('GET', '/api/v1/app/has%20space');
  assert.equal(spaces.status, 422);
  assert.deepEqual(
    spaces.body,
    problem(
      ['path', 'app_id'],
      'app_id may contain only letters, digits, "-", "_" and "."; received "has space".',
      'value_error.invalid_format',
    ),
  );

  const badEncoding = await hookline.request('GET', '/api/v1/app/%ZZ');
  assert.equal(badEncoding.status, 400);
  assert.deepEqual(badEncoding.body, {
    code: 'bad_request',
    detail: 'The URL path contains an invalid percent-encoding, such as "%" not followed by two hex digits; encode "%" as "%25".',
  });
});

test('endpoint headers are checked', async () => {
  const base = `/api/v1/app/bad-input/endpoint/${endpointId}/headers`;
  const cases: [Record<string, string>, string, string][] = [
    [
      { 'webhook-signature': 'v1,forged' },
      'webhook-signature',
      'Header "webhook-signature" is set by Hookline on every webhook and cannot be overridden; remove it.',
    ],
    [
      { 'Content-Type': 'text/plain' },
      'Content-Type',
      'Header "Content-Type" is set by Hookline on every webhook and cannot be overridden; remove it.',
    ],
    [{ 'x-split': 'a\r\nx-injected: 1' }, 'x-split', 'Header "x-split" has a line break or NUL character in its value; remove it.'],
    [
      { 'x-emoji': 'party 🎉' },
      'x-emoji',
      'Header "x-emoji" has a control character or a character outside Latin-1 (such as an emoji) in its value; percent-encode or remove it.',
    ],
    [
      { 'x bad name': 'v' },
      'x bad name',
      'Header name "x bad name" is invalid; a header name may contain only letters, digits and !#$%&\'*+.^_`|~-.',
    ],
  ];
  for (const [headers, name, msg] of cases) {
    const expected = problem(['body', 'headers', name], msg, 'value_error');

    const created = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', { url: 'http://127.0.0.1:9/', headers });
    assert.equal(created.status, 422, name);
    assert.deepEqual(created.body, expected, name);

    const replaced = await hookline.request('PUT', base, { headers });
    assert.equal(replaced.status, 422, name);
    assert.deepEqual(replaced.body, expected, name);

    const patched = await hookline.request('PATCH', base, { headers });
    assert.equal(patched.status, 422, name);
    assert.deepEqual(patched.body, expected, name);
  }

  const latin1 = await hookline.request('PUT', base, { headers: { 'x-name': 'Zoë' } });
  assert.equal(latin1.status, 204);
});

test('endpoint secrets are checked', async () => {
  const schemaRule = 'secret must be base64 of 24 to 64 bytes, optionally prefixed with whsec_, or an ed25519 key: whsk_ and base64 of the 32-byte seed';
  const fewBytes = `whsec_${Buffer.alloc(16, 1).toString('base64')}`;
  const cases: [string, unknown][] = [
    ['short', problem(['body', 'secret'], `${schemaRule}; received a string of 5 characters.`, 'value_error.invalid_format')],
    [`whsec_${'!'.repeat(40)}`, problem(['body', 'secret'], `${schemaRule}; received a string of 46 characters.`, 'value_error.invalid_format')],
    [fewBytes, problem(['body', 'secret'], `${schemaRule}; received a string of 30 characters.`, 'value_error.invalid_format')],
    [
      `whsec_${'A'.repeat(33)}`,
      problem(
        ['body', 'secret'],
        'Invalid signing secret: the secret is not valid base64: its length or last character is wrong, as happens when it was cut short. Expected whsec_ followed by base64 of 24 to 64 random bytes.',
        'value_error',
      ),
    ],
  ];
  for (const [secret, expected] of cases) {
    const response = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', { url: 'http://127.0.0.1:9/', secret });
    assert.equal(response.status, 422, secret);
    assert.deepEqual(response.body, expected, secret);
  }

  const rotated = await hookline.request('POST', `/api/v1/app/bad-input/endpoint/${endpointId}/secret/rotate`, { key: 'not base64 at all!' });
  assert.equal(rotated.status, 422);
  assert.deepEqual(
    rotated.body,
    problem(
      ['body', 'key'],
      'key must be base64 of 24 to 64 bytes, optionally prefixed with whsec_, or an ed25519 key: whsk_ and base64 of the 32-byte seed; received a string of 18 characters.',
      'value_error.invalid_format',
    ),
  );

  // A rejected secret may still be a real one with a typo, so it is kept out of the log.
  const logged = JSON.stringify(hookline.logs);
  assert.ok(!logged.includes(fewBytes), 'rejected secret appears in the log');
  assert.ok(!logged.includes('not base64 at all!'), 'rejected key appears in the log');

  const valid = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', {
    url: 'http://127.0.0.1:9/',
    secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  });
  assert.equal(valid.status, 201);
});

test('error responses are well formed', async () => {
  // A few of the cases above through the shared shape check, so it is known to pass on them.
  assertWellFormed(await raw('POST', '/api/v1/app', '{bad'), 'invalid JSON');
  assertWellFormed(await raw('POST', '/api/v1/app', '[]'), 'array body');
  assertWellFormed(await raw('GET', '/api/v1/app/app_unknown'), 'unknown app');
});

test('empty filter lists get 422 instead of matching everything', async () => {
  const cases: { method: string; path: string; body: Record<string, unknown>; field: string }[] = [
    { method: 'POST', path: '/api/v1/app/bad-input/endpoint', body: { url: 'http://127.0.0.1:9/a', filterTypes: [] }, field: 'filterTypes' },
    { method: 'POST', path: '/api/v1/app/bad-input/endpoint', body: { url: 'http://127.0.0.1:9/a', eventTypes: [] }, field: 'eventTypes' },
    { method: 'POST', path: '/api/v1/app/bad-input/endpoint', body: { url: 'http://127.0.0.1:9/a', channels: [] }, field: 'channels' },
    { method: 'PATCH', path: `/api/v1/app/bad-input/endpoint/${endpointId}`, body: { filterTypes: [] }, field: 'filterTypes' },
    { method: 'POST', path: '/api/v1/app/bad-input/msg', body: { eventType: 'a', payload: {}, channels: [] }, field: 'channels' },
  ];
  for (const { method, path, body, field } of cases) {
    const response = await hookline.request(method, path, body);
    assert.equal(response.status, 422, `${method} ${path} ${JSON.stringify(body)}`);
    assert.deepEqual(response.body.detail[0].loc, ['body', field]);
    assert.match(response.body.detail[0].msg, /must list at least one item; send null or leave the field out to match all/);
  }
  const unfiltered = await hookline.request('POST', '/api/v1/app/bad-input/endpoint', { url: 'http://127.0.0.1:9/b', filterTypes: null });
  assert.equal(unfiltered.status, 201);
  assert.equal(unfiltered.body.filterTypes, null);
});
