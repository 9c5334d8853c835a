import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Svix } from 'svix';
import { startTestHookline, type TestHookline } from '../helpers/hookline.js';
import { send } from './api-response.js';

const publicUrl = 'https://hooks.example.test/base';
let clockOffset = 0;
let hookline: TestHookline;
let appId: string;

before(async () => {
  hookline = await startTestHookline({ publicUrl }, { api: true, worker: false }, 'embedded', { clock: () => Date.now() + clockOffset });
  const app = await hookline.request('POST', '/api/v1/app', { name: 'Portal', uid: 'portal' });
  assert.equal(app.status, 201);
  appId = app.body.id;
});

after(async () => {
  await hookline.destroy();
});

async function createAccess(body: unknown): Promise<{ url: string; token: string }> {
  const response = await hookline.request('POST', '/api/v1/auth/app-portal-access/portal', body);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

test('portal access returns url and token', async () => {
  const access = await createAccess({});

  assert.match(access.token, /^appsk_[A-Za-z0-9_-]{32}$/);
  assert.equal(access.url, `${publicUrl}/portal/app/${appId}#token=${access.token}`);
  const own = await send(hookline.url, 'GET', `/api/v1/app/${appId}`, { token: access.token });
  assert.equal(own.status, 200);
  assert.equal(own.body.id, appId);
});

test('token stored as a digest only', async () => {
  const access = await createAccess({});

  const rows = await hookline.store.db.selectFrom('token').selectAll().execute();
  assert.ok(rows.length > 0);
  for (const row of rows) {
    assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(row).includes(access.token.slice('appsk_'.length)), 'a token row contains the token');
  }
});

test('token expires after 7 days by default', async () => {
  clockOffset = 0;
  const access = await createAccess({});

  clockOffset = 7 * 24 * 3600 * 1000 - 60_000;
  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal', { token: access.token })).status, 200);
  clockOffset = 7 * 24 * 3600 * 1000 + 1;
  const expired = await send(hookline.url, 'GET', '/api/v1/app/portal', { token: access.token });
  assert.equal(expired.status, 401);
  assert.equal(expired.body.code, 'authentication_failed');
  clockOffset = 0;
});

test('expiry sets the lifetime in seconds', async () => {
  clockOffset = 0;
  const access = await createAccess({ expiry: 3600 });

  clockOffset = 3_599_000;
  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal', { token: access.token })).status, 200);
  clockOffset = 3_600_000;
  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal', { token: access.token })).status, 401);
  clockOffset = 0;
});

test('expiry out of range gets 422', async () => {
  for (const expiry of [0, 3599, 604_801, 1.5, '3600', -1]) {
    const response = await hookline.request('POST', '/api/v1/auth/app-portal-access/portal', { expiry });
    assert.equal(response.status, 422, String(expiry));
    assert.deepEqual(response.body.detail[0].loc, ['body', 'expiry'], String(expiry));
  }
});

test('logout revokes the calling token only', async () => {
  const first = await createAccess({});
  const second = await createAccess({});

  const logout = await send(hookline.url, 'POST', '/api/v1/auth/logout', { token: first.token });
  assert.equal(logout.status, 204);
  assert.equal(logout.text, '');

  const revoked = await send(hookline.url, 'GET', '/api/v1/app/portal', { token: first.token });
  assert.equal(revoked.status, 401);
  assert.equal(revoked.body.code, 'authentication_failed');
  assert.equal((await send(hookline.url, 'POST', '/api/v1/auth/logout', { token: first.token })).status, 401);
  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal', { token: second.token })).status, 200);
});

test('logout with the admin token gets 403', async () => {
  const response = await hookline.request('POST', '/api/v1/auth/logout');
  assert.equal(response.status, 403);
  assert.equal(response.body.code, 'forbidden');
  assert.equal((await hookline.request('GET', '/api/v1/app/portal')).status, 200);
});

test('svix client gets access and logs out', async () => {
  const admin = new Svix('test-admin-token-0000000000000000', { serverUrl: hookline.url });
  const access = await admin.authentication.appPortalAccess('portal', { expiry: 7200 });
  assert.equal(access.url, `${publicUrl}/portal/app/${appId}#token=${access.token}`);

  const portal = new Svix(access.token, { serverUrl: hookline.url });
  assert.equal((await portal.application.get('portal')).id, appId);
  await portal.authentication.logout();
  await assert.rejects(portal.application.get('portal'), (error: { code?: number }) => error.code === 401);
});

test('public URL trailing slash not doubled', async () => {
  const other = await startTestHookline({ publicUrl: 'https://hooks.example.test/' }, { api: true, worker: false });
  try {
    const app = await other.request('POST', '/api/v1/app', { name: 'Slash' });
    const access = await other.request('POST', `/api/v1/auth/app-portal-access/${app.body.id}`, {});
    assert.equal(access.status, 200);
    assert.equal(access.body.url, `https://hooks.example.test/portal/app/${app.body.id}#token=${access.body.token}`);
  } finally {
    await other.destroy();
  }
});

test('read-only token reads but cannot write', async () => {
  const access = await createAccess({ readOnly: true });

  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal/endpoint', { token: access.token })).status, 200);
  const writes: [string, string, string?][] = [
    ['POST', '/api/v1/app/portal/endpoint', JSON.stringify({ url: 'http://127.0.0.1:9/read-only' })],
    ['POST', '/api/v1/app/portal/endpoint/ep_unknown/secret/rotate', '{}'],
    ['DELETE', '/api/v1/app/portal/endpoint/ep_unknown'],
  ];
  for (const [method, path, body] of writes) {
    const response = await send(hookline.url, method, path, { token: access.token, body });
    assert.equal(response.status, 403, `${method} ${path}`);
    assert.deepEqual(response.body, { code: 'forbidden', detail: 'This token is read-only; it may send GET requests and log out.' });
  }
  const endpoints = await hookline.request('GET', '/api/v1/app/portal/endpoint');
  assert.ok(endpoints.body.data.every((endpoint: { url: string }) => endpoint.url !== 'http://127.0.0.1:9/read-only'));

  assert.equal((await send(hookline.url, 'POST', '/api/v1/auth/logout', { token: access.token })).status, 204);
  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal', { token: access.token })).status, 401);
});

test('capabilities rejected, not ignored', async () => {
  const response = await hookline.request('POST', '/api/v1/auth/app-portal-access/portal', { capabilities: ['ViewBase'] });
  assert.equal(response.status, 422);
  assert.deepEqual(response.body.detail[0].loc, ['body', 'capabilities']);
});

test('expired tokens deleted on next access', async () => {
  clockOffset = 0;
  const shortLived = await createAccess({ expiry: 3600 });
  const countRows = async () => (await hookline.store.db.selectFrom('token').select('id').execute()).length;
  const before = await countRows();

  clockOffset = 3_600_000;
  await createAccess({});
  clockOffset = 0;

  assert.ok((await countRows()) < before + 1, 'the expired token row was kept');
  assert.equal((await send(hookline.url, 'GET', '/api/v1/app/portal', { token: shortLived.token })).status, 401);
});
