import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHookline, testAdminToken, type TestHookline } from '../helpers/hookline.js';
import { send } from './api-response.js';

let hookline: TestHookline;
let ownAppId: string;
let otherAppId: string;
let ownToken: string;

before(async () => {
  hookline = await startTestHookline({}, { api: true, worker: false });
  const own = await hookline.request('POST', '/api/v1/app', { name: 'Own', uid: 'own' });
  assert.equal(own.status, 201);
  ownAppId = own.body.id;
  const other = await hookline.request('POST', '/api/v1/app', { name: 'Other', uid: 'other' });
  assert.equal(other.status, 201);
  otherAppId = other.body.id;

  const access = await hookline.request('POST', `/api/v1/auth/app-portal-access/${ownAppId}`, {});
  assert.equal(access.status, 200);
  assert.match(access.body.token, /^appsk_/);
  ownToken = access.body.token;
});

after(async () => {
  await hookline.destroy();
});

test('missing token gets 401', async () => {
  const response = await send(hookline.url, 'GET', '/api/v1/app');
  assert.equal(response.status, 401);
  assert.deepEqual(response.body, {
    code: 'authentication_failed',
    detail: 'Missing bearer token; send "Authorization: Bearer <token>".',
  });
});

test('malformed Authorization header gets 401', async () => {
  for (const header of [`Basic ${testAdminToken}`, 'Bearer', `Bearer ${testAdminToken} extra`, testAdminToken, 'Bearer\t']) {
    const response = await send(hookline.url, 'GET', '/api/v1/app', { headers: { authorization: header } });
    assert.equal(response.status, 401, header);
    assert.deepEqual(
      response.body,
      {
        code: 'authentication_failed',
        detail: 'Malformed Authorization header; send "Authorization: Bearer <token>" with the token and nothing after it.',
      },
      header,
    );
  }
});

test('wrong token gets 401', async () => {
  for (const token of ['wrong-token', `${testAdminToken}x`, 'appsk_not-a-real-token']) {
    const response = await send(hookline.url, 'GET', '/api/v1/app', { token });
    assert.equal(response.status, 401, token);
    assert.deepEqual(response.body, {
      code: 'authentication_failed',
      detail: 'Invalid or expired token; send the admin token or a current application token.',
    });
  }
});

test('missing token is checked before the body', async () => {
  const response = await send(hookline.url, 'POST', '/api/v1/app', { body: '{bad json' });
  assert.equal(response.status, 401);
  assert.equal(response.body.code, 'authentication_failed');
});

test('application token works on its own application', async () => {
  for (const path of [`/api/v1/app/${ownAppId}`, '/api/v1/app/own', '/api/v1/app/own/endpoint', '/api/v1/app/own/msg', '/api/v1/event-type']) {
    const response = await send(hookline.url, 'GET', path, { token: ownToken });
    assert.equal(response.status, 200, path);
  }

  const endpoint = await send(hookline.url, 'POST', '/api/v1/app/own/endpoint', {
    token: ownToken,
    body: JSON.stringify({ url: 'http://127.0.0.1:9/hook' }),
  });
  assert.equal(endpoint.status, 201);
  const secret = await send(hookline.url, 'GET', `/api/v1/app/own/endpoint/${endpoint.body.id}/secret`, { token: ownToken });
  assert.equal(secret.status, 200);
  assert.match(secret.body.key, /^whsec_/);
});

test('application token gets 403 on another application', async () => {
  const forbidden = { code: 'forbidden', detail: 'This token belongs to another application.' };
  const requests: [string, string, string?][] = [
    ['GET', `/api/v1/app/${otherAppId}`],
    ['GET', '/api/v1/app/other'],
    ['GET', '/api/v1/app/other/endpoint'],
    ['POST', '/api/v1/app/other/endpoint', JSON.stringify({ url: 'http://127.0.0.1:9/hook' })],
    ['GET', '/api/v1/app/other/msg'],
    ['GET', '/api/v1/app/app_unknown/endpoint'],
  ];
  for (const [method, path, body] of requests) {
    const response = await send(hookline.url, method, path, { token: ownToken, body });
    assert.equal(response.status, 403, `${method} ${path}`);
    assert.deepEqual(response.body, forbidden, `${method} ${path}`);
  }

  const endpoints = await hookline.request('GET', '/api/v1/app/other/endpoint');
  assert.deepEqual(endpoints.body.data, []);
});

test('application token gets 403 on admin routes', async () => {
  const forbidden = { code: 'forbidden', detail: 'This route needs the admin token.' };
  const requests: [string, string, string?][] = [
    ['GET', '/api/v1/app'],
    ['POST', '/api/v1/app', JSON.stringify({ name: 'Sneaky' })],
    ['PUT', '/api/v1/app/own', JSON.stringify({ name: 'Renamed' })],
    ['DELETE', '/api/v1/app/own'],
    ['POST', '/api/v1/app/own/msg', JSON.stringify({ eventType: 'a', payload: {} })],
    ['POST', '/api/v1/event-type', JSON.stringify({ name: 'sneaky', description: 'x' })],
    ['POST', `/api/v1/auth/app-portal-access/${ownAppId}`, '{}'],
    ['GET', '/api/trap'],
  ];
  for (const [method, path, body] of requests) {
    const response = await send(hookline.url, method, path, { token: ownToken, body });
    assert.equal(response.status, 403, `${method} ${path}`);
    assert.deepEqual(response.body, forbidden, `${method} ${path}`);
  }

  const app = await hookline.request('GET', '/api/v1/app/own');
  assert.equal(app.body.name, 'Own');
});

test('public routes need no token', async () => {
  const health = await send(hookline.url, 'GET', '/api/v1/health');
  assert.equal(health.status, 200);
  const openapi = await send(hookline.url, 'GET', '/api/v1/openapi.json');
  assert.equal(openapi.status, 200);
});

test('portal access for unknown application gets 404', async () => {
  const response = await hookline.request('POST', '/api/v1/auth/app-portal-access/app_unknown', {});
  assert.equal(response.status, 404);
  assert.deepEqual(response.body, { code: 'not_found', detail: 'Application "app_unknown" not found.' });
});

test('other application ids under own path get 404', async () => {
  const endpoint = await hookline.request('POST', '/api/v1/app/other/endpoint', { url: 'http://127.0.0.1:9/hook' });
  assert.equal(endpoint.status, 201);
  const message = await hookline.request('POST', '/api/v1/app/other/msg', { eventType: 'a', payload: { secret: 1 } });
  assert.equal(message.status, 202);

  const paths = [
    `/api/v1/app/own/endpoint/${endpoint.body.id}`,
    `/api/v1/app/own/endpoint/${endpoint.body.id}/secret`,
    `/api/v1/app/own/msg/${message.body.id}`,
    `/api/v1/app/own/msg/${message.body.id}/attempt`,
  ];
  for (const path of paths) {
    const response = await send(hookline.url, 'GET', path, { token: ownToken });
    assert.equal(response.status, 404, path);
    assert.equal(response.body.code, 'not_found', path);
  }
});
