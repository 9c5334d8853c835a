import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { startTestHookline } from '../helpers/hookline.js';

const chromiumPath = '/usr/bin/chromium';

test('docs page serves its own assets with a strict policy', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());

  const page = await fetch(`${hookline.url}/docs`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  const html = await page.text();
  for (const source of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    assert.ok(source[1]?.startsWith('/docs/assets/'), `${source[1]} is not served by Hookline`);
    const asset = await fetch(`${hookline.url}${source[1]}`);
    assert.equal(asset.status, 200, source[1]);
  }
  const missing = await fetch(`${hookline.url}/docs/assets/..%2Fpackage.json`);
  assert.equal(missing.status, 404);
});

test('docs page renders every route in Chromium without other hosts', async (context) => {
  if (!existsSync(chromiumPath)) {
    if (process.env.CI === 'true') {
      throw new Error(`${chromiumPath} is missing; CI must run the browser tests.`);
    }
    context.skip(`${chromiumPath} is missing`);
    return;
  }
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  const profile = mkdtempSync(join(tmpdir(), 'hookline-chromium-'));
  context.after(() => rmSync(profile, { recursive: true, force: true }));

  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.after(() => browser.close());

  // Every request of the page must go to this server; anything else is aborted and recorded.
  const origin = new URL(hookline.url).origin;
  const foreign: string[] = [];
  await browser.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url.startsWith('data:')) {
      await route.continue();
      return;
    }
    foreign.push(url);
    await route.abort();
  });

  const tab = await browser.newPage();
  const problems: string[] = [];
  tab.on('pageerror', (error) => problems.push(error.message));
  await tab.goto(`${hookline.url}/docs`);
  await tab.getByText('/api/v1/app/{app_id}/events/stream', { exact: true }).waitFor({ timeout: 20_000 });
  const operations = await tab.locator('.opblock').count();
  const document = (await (await fetch(`${hookline.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, object> };
  const expected = Object.values(document.paths).reduce((count, methods) => count + Object.keys(methods).length, 0);
  assert.equal(operations, expected);
  assert.deepEqual(foreign, []);
  assert.deepEqual(problems, []);
});
