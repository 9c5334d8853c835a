import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Svix } from 'svix';
import { startTestHookline, testAdminToken, type TestHookline } from '../helpers/hookline.js';

let hookline: TestHookline;
let appToken: string;
let appId: string;

before(async () => {
  hookline = await startTestHookline();
  const app = await hookline.request('POST', '/api/v1/app', { name: 'customer' });
  appId = app.body.id;
  appToken = (await hookline.request('POST', `/api/v1/auth/app-portal-access/${appId}`, {})).body.token;
});
after(() => hookline.destroy());

const base = '/api/v1/operational-webhook/endpoint';

test('operational endpoint lifecycle', async () => {
  const created = await hookline.request('POST', base, {
    url: 'https://ops.example.com/hookline',
    uid: 'pager',
    description: 'pager',
    filterTypes: ['endpoint.disabled', 'message.attempt.exhausted'],
    rateLimit: 10,
    metadata: { team: 'ops' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.id, /^ep_/);
  assert.deepEqual(
    { ...created.body, id: undefined, createdAt: undefined, updatedAt: undefined },
    {
      id: undefined,
      uid: 'pager',
      url: 'https://ops.example.com/hookline',
      description: 'pager',
      disabled: false,
      rateLimit: 10,
      throttleRate: 10,
      filterTypes: ['endpoint.disabled', 'message.attempt.exhausted'],
      metadata: { team: 'ops' },
      createdAt: undefined,
      updatedAt: undefined,
    },
  );

  const listed = await hookline.request('GET', base);
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.data.map((item: any) => item.id), [created.body.id]);
  assert.equal(listed.body.done, true);

  const byUid = await hookline.request('GET', `${base}/pager`);
  assert.equal(byUid.body.id, created.body.id);

  const updated = await hookline.request('PUT', `${base}/${created.body.id}`, { url: 'https://ops.example.com/v2', disabled: true });
  assert.equal(updated.status, 200, JSON.stringify(updated.body));
  assert.equal(updated.body.url, 'https://ops.example.com/v2');
  assert.equal(updated.body.disabled, true);

  const secret = await hookline.request('GET', `${base}/${created.body.id}/secret`);
  assert.match(secret.body.key, /^whsec_/);
  const rotated = await hookline.request('POST', `${base}/${created.body.id}/secret/rotate`, {});
  assert.equal(rotated.status, 204);
  const newSecret = await hookline.request('GET', `${base}/${created.body.id}/secret`);
  assert.notEqual(newSecret.body.key, secret.body.key);

  const deleted = await hookline.request('DELETE', `${base}/${created.body.id}`);
  assert.equal(deleted.status, 204);
  assert.equal((await hookline.request('GET', `${base}/${created.body.id}`)).status, 404);
});

test('operational endpoint URL is checked', async () => {
  const response = await hookline.request('POST', base, { url: 'ftp://ops.example.com/' });
  assert.equal(response.status, 422);
  assert.deepEqual(response.body.detail[0].loc, ['body', 'url']);
});

test('application token cannot reach admin routes', async () => {
  const headers = { authorization: `Bearer ${appToken}` };
  for (const [method, path] of [
    ['GET', base],
    ['POST', base],
    ['GET', '/api/v1/breakers'],
  ] as const) {
    const response = await hookline.request(method, path, method === 'POST' ? { url: 'https://ops.example.com/' } : undefined, headers);
    assert.equal(response.status, 403, `${method} ${path}: ${JSON.stringify(response.body)}`);
  }
});

test('health route serves the own application', async () => {
  const endpoint = await hookline.request('POST', `/api/v1/app/${appId}/endpoint`, { url: 'https://customer.example.com/hook' });
  const path = `/api/v1/app/${appId}/endpoint/${endpoint.body.id}/health`;
  const own = await hookline.request('GET', path, undefined, { authorization: `Bearer ${appToken}` });
  assert.equal(own.status, 200);
  assert.deepEqual(own.body, { breaker: 'closed', consecutiveFailures: 0, openUntil: null, failingSince: null, disabled: false, throttledUntil: null });

  const other = await hookline.request('POST', '/api/v1/app', { name: 'other' });
  const otherEndpoint = await hookline.request('POST', `/api/v1/app/${other.body.id}/endpoint`, { url: 'https://other.example.com/hook' });
  const foreign = await hookline.request(
    'GET',
    `/api/v1/app/${other.body.id}/endpoint/${otherEndpoint.body.id}/health`,
    undefined,
    { authorization: `Bearer ${appToken}` },
  );
  assert.ok([401, 403, 404].includes(foreign.status), String(foreign.status));
  assert.equal(foreign.body.breaker, undefined);

  const missing = await hookline.request('GET', `/api/v1/app/${appId}/endpoint/ep_missing/health`);
  assert.equal(missing.status, 404);
});

test('breakers list is empty when all closed', async () => {
  const response = await hookline.request('GET', '/api/v1/breakers');
  assert.deepEqual(response.body, { data: [] });
});

test('svix client manages operational endpoints', async () => {
  const svix = new Svix(testAdminToken, { serverUrl: hookline.url });
  const created = await svix.operationalWebhookEndpoint.create({
    url: 'https://ops.example.com/svix',
    filterTypes: ['message.attempt.exhausted'],
    rateLimit: 5,
    uid: 'svix-client',
  });
  assert.match(created.id, /^ep_/);
  assert.equal(created.url, 'https://ops.example.com/svix');
  assert.deepEqual(created.filterTypes, ['message.attempt.exhausted']);
  assert.equal(created.rateLimit, 5);
  assert.ok(created.createdAt instanceof Date);

  const listed = await svix.operationalWebhookEndpoint.list();
  assert.ok(listed.data.some((item) => item.id === created.id));
  const fetched = await svix.operationalWebhookEndpoint.get('svix-client');
  assert.equal(fetched.id, created.id);

  const updated = await svix.operationalWebhookEndpoint.update(created.id, { url: 'https://ops.example.com/svix2', description: 'v2' });
  assert.equal(updated.url, 'https://ops.example.com/svix2');
  assert.equal(updated.description, 'v2');

  await svix.operationalWebhookEndpoint.updateHeaders(created.id, { headers: { 'x-team': 'ops', authorization: 'Bearer example' } });
  const headers = await svix.operationalWebhookEndpoint.getHeaders(created.id);
  assert.deepEqual(headers.headers, { 'x-team': 'ops' });
  assert.deepEqual(headers.sensitive, ['authorization']);

  const secret = await svix.operationalWebhookEndpoint.getSecret(created.id);
  assert.match(secret.key, /^whsec_/);
  await svix.operationalWebhookEndpoint.rotateSecret(created.id, {});
  assert.notEqual((await svix.operationalWebhookEndpoint.getSecret(created.id)).key, secret.key);

  await svix.operationalWebhookEndpoint.delete(created.id);
  await assert.rejects(svix.operationalWebhookEndpoint.get(created.id), (error: any) => error.code === 404);
});
