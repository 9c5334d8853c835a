import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerPortal } from '../../src/api/portal-assets.js';
import { createLogger } from '../../src/observability/logger.js';

const logger = createLogger({ level: 'silent', pretty: false });
const script = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;

describe('portal assets', () => {
  let folder: string;
  let app: FastifyInstance;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'hookline-portal-'));
    mkdirSync(join(folder, 'assets'));
    writeFileSync(join(folder, 'index.html'), '<!doctype html><title>Portal</title><script type="module" src="/portal/assets/index-abc123.js"></script>');
    writeFileSync(join(folder, 'assets', 'index-abc123.js'), script);
    writeFileSync(join(folder, 'assets', 'index-abc123.css'), 'body{margin:0}');
    app = Fastify();
    registerPortal(app, folder, logger);
    await app.ready();
  });

  after(async () => {
    await app?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  test('hashed asset cached for a year', async () => {
    const response = await app.inject({ method: 'GET', url: '/portal/assets/index-abc123.js' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(response.body, script);
    const css = await app.inject({ method: 'GET', url: '/portal/assets/index-abc123.css' });
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  });

  test('gzip client gets compressed asset', async () => {
    const response = await app.inject({ method: 'GET', url: '/portal/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(response.headers['content-encoding'], 'gzip');
    assert.ok(response.rawPayload.length < script.length);
  });

  test('portal paths fall back to index.html', async () => {
    for (const url of ['/portal', '/portal/', '/portal/app/app_123/endpoints', '/portal/app/app_123/logs?status=2']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(response.headers['cache-control'], 'no-cache');
      assert.equal(response.headers['referrer-policy'], 'no-referrer');
      assert.match(String(response.headers['content-security-policy']), /script-src 'self'/);
      assert.match(response.body, /<title>Portal<\/title>/);
    }
  });

  test('missing asset gets 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/portal/assets/index-missing.js' });
    assert.equal(response.statusCode, 404);
  });

  test('path outside folder gets the page', async () => {
    const response = await app.inject({ method: 'GET', url: '/portal/..%2f..%2fetc%2fpasswd' });
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /<title>Portal<\/title>/);
  });

  test('a malformed escape in the path is a 400, not a server error', async () => {
    const response = await app.inject({ method: 'GET', url: '/portal/app/%E0%A4%A/endpoints' });
    assert.equal(response.statusCode, 400);
  });

  test('without a build, /portal answers 503 with the command that builds it', async () => {
    const empty = Fastify();
    registerPortal(empty, join(folder, 'missing'), logger);
    const response = await empty.inject({ method: 'GET', url: '/portal/' });
    assert.equal(response.statusCode, 503);
    assert.match(response.body, /npm run build/);
    await empty.close();
  });
});
