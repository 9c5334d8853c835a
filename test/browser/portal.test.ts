import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { browserUnavailable, launchChromium, screenshot, seriousViolations, type TestBrowser } from '../helpers/browser.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';

interface Received {
  id: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/** Starts a webhook receiver on loopback that returns 200, or 500 with a body while failing. */
async function startReceiver() {
  const received: Received[] = [];
  const state = { failing: false };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ id: String(request.headers['webhook-id']), body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
      if (state.failing) {
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"receiver says no"}');
      } else {
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const skip = browserUnavailable();

describe('portal in Chromium', { skip }, () => {
  let hookline: TestHookline;
  let chromium: TestBrowser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  /** Uncaught errors and console errors of every page, which each test expects to be none. */
  const pageErrors: string[] = [];

  before(async () => {
    hookline = await startTestHookline();
    chromium = await launchChromium();
    receiver = await startReceiver();
    const created = await hookline.request('POST', '/api/v1/event-type', {
      name: 'invoice.paid',
      description: 'An invoice was paid in full',
      schemas: { '1': { type: 'object', properties: { invoiceId: { type: 'string' } }, examples: [{ invoiceId: 'inv_example', amount: 4200 }] } },
    });
    assert.equal(created.status, 201);
  });

  after(async () => {
    await chromium?.close();
    await receiver?.close();
    await hookline?.destroy();
  });

  async function newPage(options: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await chromium.browser.newContext({
      viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
      colorScheme: options.colorScheme ?? 'light',
      reducedMotion: 'reduce',
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Console errors include content security policy violations. A 404 from a route that this
    // server lacks is expected: the page shows a note for it.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
    return { context, page };
  }

  /** Checks accessibility, then saves the screenshot that the README shows. */
  async function record(page: Page, name: string): Promise<void> {
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], `serious accessibility violations on ${name}`);
    await screenshot(page, name);
  }

  async function portalLink(appId: string): Promise<string> {
    const access = await hookline.request('POST', `/api/v1/auth/app-portal-access/${appId}`, {});
    assert.equal(access.status, 200);
    return access.body.url as string;
  }

  async function sendMessage(appId: string, payload: Record<string, unknown>): Promise<string> {
    const response = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'invoice.paid', payload });
    assert.equal(response.status, 202);
    return response.body.id as string;
  }

  test("a customer's day: endpoint, success, failure, resend, rotation, isolation", async () => {
    const customer = (await hookline.request('POST', '/api/v1/app', { name: 'Acme Bakery' })).body;
    const other = (await hookline.request('POST', '/api/v1/app', { name: 'Other Customer' })).body;
    const otherEndpoint = await hookline.request('POST', `/api/v1/app/${other.id}/endpoint`, { url: 'https://other-customer.example/secret-hook' });
    assert.equal(otherEndpoint.status, 201);
    const otherMessage = await hookline.request('POST', `/api/v1/app/${other.id}/msg`, { eventType: 'invoice.paid', payload: { invoiceId: 'other-invoice' } });

    const { context, page } = await newPage();
    const requestedUrls: string[] = [];
    page.on('request', (request) => requestedUrls.push(request.url()));
    const link = await portalLink(customer.id);
    const token = /(?:token|key)=([^&]+)/.exec(link)?.[1] ?? '';
    assert.notEqual(token, '');
    await page.goto(link);

    // The token moves to sessionStorage: the address bar and every request URL lack it.
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    assert.ok(!page.url().includes(token), 'the token is removed from the address');
    await page.getByRole('heading', { name: 'No endpoints yet', exact: true }).waitFor();

    // Create an endpoint: first a URL the API rejects, with the message shown by the field.
    await page.getByRole('link', { name: 'Add endpoint', exact: true }).first().click();
    await page.getByLabel('Endpoint URL').fill('not a url');
    await page.getByRole('button', { name: 'Create endpoint', exact: true }).click();
    await page.locator('.field-invalid .field-error').first().waitFor();
    const urlError = await page.locator('.field-invalid .field-error').first().textContent();
    assert.match(urlError ?? '', /url/i);

    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByLabel('Description').fill('Bakery order system');
    await page.getByLabel('Search event types').fill('invoice');
    await page.getByRole('checkbox', { name: /invoice\.paid/ }).check();
    await page.getByRole('button', { name: 'Add header', exact: true }).click();
    await page.getByLabel('Header 1 name').fill('X-Bakery');
    await page.getByLabel('Header 1 value').fill('loaves');
    await record(page, 'endpoint-form');
    await page.getByRole('button', { name: 'Create endpoint', exact: true }).click();
    await page.getByRole('heading', { name: receiver.url, exact: true }).waitFor();

    // A message sent through the API arrives, and the live list shows it succeeded.
    const firstId = await sendMessage(customer.id, { invoiceId: 'inv_1' });
    await waitFor(() => receiver.received.some((entry) => entry.id === firstId), 10_000, 'the first message to arrive');
    assert.equal(receiver.received.find((entry) => entry.id === firstId)?.headers['x-bakery'], 'loaves');
    await page.locator('table[aria-labelledby="attempts-title"] .badge-success').first().waitFor({ timeout: 20_000 });

    // The receiver fails: the attempt shows as failed, with the response body.
    receiver.state.failing = true;
    const failedId = await sendMessage(customer.id, { invoiceId: 'inv_2' });
    await waitFor(() => receiver.received.some((entry) => entry.id === failedId), 10_000, 'the failing message to arrive');
    await page.getByRole('button', { name: 'Failed', exact: true }).click();
    const failedRow = page.locator('table[aria-labelledby="attempts-title"] tbody tr').first();
    await failedRow.locator('.badge-fail').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('table[aria-labelledby="attempts-title"] .badge-success').count(), 0, 'the Failed filter hides successes');
    await record(page, 'endpoint-detail');
    await failedRow.getByRole('link', { name: failedId, exact: true }).click();
    await page.getByRole('heading', { name: 'Attempt', exact: true }).waitFor();
    await page.getByText('receiver says no').waitFor();
    await page.getByText('HTTP 500').first().waitFor();
    await page.getByLabel('Request body').getByText('inv_2').waitFor();
    await record(page, 'attempt-detail');

    // Resend once the receiver is back: the message's history shows a success.
    receiver.state.failing = false;
    await page.getByRole('button', { name: 'Resend message', exact: true }).click();
    await page.locator('table[aria-labelledby="history-title"] .badge-success').first().waitFor({ timeout: 20_000 });

    // Rotate the secret; the receiver verifies the next message with the new secret alone.
    await page.getByRole('link', { name: 'Endpoint', exact: true }).click();

    // The keyboard alone reaches the content and the dialogs, and Escape cancels a deletion.
    await page.getByRole('button', { name: 'Rotate', exact: true }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'main', 'navigation moves the focus to the new page');
    await page.reload();
    await page.getByRole('button', { name: 'Rotate', exact: true }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('document.activeElement.id'), 'main');
    await page.getByRole('button', { name: 'Delete', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Delete this endpoint?' }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Cancel', 'the dialog focuses its safe choice');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    assert.equal((await hookline.request('GET', `/api/v1/app/${customer.id}/endpoint`)).body.data.length, 1);

    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    await page.getByRole('dialog').getByText('24 hours').first().waitFor();
    await page.getByRole('button', { name: 'Rotate secret', exact: true }).click();
    await page.getByText('Secret rotated').waitFor();
    await page.getByRole('button', { name: 'Reveal', exact: true }).click();
    const secret = (await page.getByLabel('Signing secret', { exact: true }).textContent()) ?? '';
    assert.match(secret, /^whsec_/);
    const rotatedId = await sendMessage(customer.id, { invoiceId: 'inv_3' });
    await waitFor(() => receiver.received.some((entry) => entry.id === rotatedId), 10_000, 'the message after rotation');
    const rotated = receiver.received.find((entry) => entry.id === rotatedId) as Received;
    const verified = new Webhook(secret).verify(rotated.body, rotated.headers as Record<string, string>);
    assert.deepEqual(verified, { invoiceId: 'inv_3' });

    // Edit keeps the custom header; disable and enable ask first and show the new status.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByLabel('Description').fill('Bakery orders, second system');
    await page.getByRole('button', { name: 'Save changes', exact: true }).click();
    await page.getByText('Bakery orders, second system').waitFor();
    const endpointId = (await hookline.request('GET', `/api/v1/app/${customer.id}/endpoint`)).body.data[0].id as string;
    const headers = await hookline.request('GET', `/api/v1/app/${customer.id}/endpoint/${endpointId}/headers`);
    assert.deepEqual(headers.body.headers, { 'X-Bakery': 'loaves' });
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disable', exact: true }).click();
    await page.locator('.summary').getByText('Disabled', { exact: true }).waitFor();
    assert.equal((await hookline.request('GET', `/api/v1/app/${customer.id}/endpoint/${endpointId}`)).body.disabled, true);
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Enable', exact: true }).click();
    await page.locator('.summary').getByText('Enabled', { exact: true }).waitFor();

    // Recover requests that the server send every failed message since the chosen time again.
    await page.getByLabel('Since').fill('2026-01-01T00:00');
    await page.getByRole('button', { name: 'Recover', exact: true }).click();
    await page.getByText('is being sent again').waitFor();

    // Send a test event of a chosen event type to this endpoint only.
    await page.getByRole('button', { name: 'Send test event', exact: true }).click();
    await page.getByText('Test event sent as').waitFor();
    await waitFor(() => receiver.received.some((entry) => entry.body.includes('inv_example')), 10_000, 'the test event');

    // Logs with a status filter, and a message's detail.
    await page.getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByRole('link', { name: failedId, exact: true }).waitFor();
    await record(page, 'logs');
    await page.getByLabel('Status').selectOption('0');
    await page.getByRole('link', { name: firstId, exact: true }).waitFor();
    await page.getByRole('link', { name: firstId, exact: true }).click();
    await page.getByLabel('Payload').getByText('inv_1').waitFor();
    const before = receiver.received.filter((entry) => entry.id === firstId).length;
    await page.getByRole('button', { name: `Resend to ${receiver.url}`, exact: true }).click();
    await page.getByText('The message is being sent again').waitFor();
    await waitFor(() => receiver.received.filter((entry) => entry.id === firstId).length === before + 1, 10_000, 'the resent message');
    await record(page, 'message-detail');

    await page.getByRole('link', { name: 'Event catalog', exact: true }).click();
    await page.getByRole('heading', { name: 'invoice.paid', exact: true }).waitFor();
    await page.locator('li', { has: page.getByRole('heading', { name: 'invoice.paid', exact: true }) }).getByText('Example payload', { exact: true }).click();
    const trapCard = page.locator('li', { has: page.getByRole('heading', { name: 'trap.set', exact: true }) });
    await trapCard.getByText('Example payload (made from the schema)').click();
    await page.getByText('inv_example').first().waitFor();
    await trapCard.getByText('example accountId').waitFor();
    await record(page, 'catalog');
    await page.getByRole('link', { name: 'Activity', exact: true }).click();
    await page.getByRole('heading', { name: 'Attempts by outcome', exact: true }).waitFor();
    await record(page, 'activity');

    // Another application's data never appears, not even through its own address.
    await page.goto(page.url().replace(/\/portal\/.*$/, `/portal/app/${other.id}/endpoints`));
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.getByRole('link', { name: receiver.url, exact: true }).waitFor();
    const text = await page.locator('body').textContent();
    assert.ok(!text?.includes('other-customer.example'), "the other application's endpoint is not shown");
    assert.ok(!text?.includes('Other Customer'), "the other application's name is not shown");
    assert.ok(!requestedUrls.some((url) => url.includes(token)), 'no request URL carries the token');
    assert.ok(!JSON.stringify(hookline.logs).includes(token), 'no log line carries the token');
    const stolen = await fetch(`${hookline.url}/api/v1/app/${other.id}/msg/${otherMessage.body.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(stolen.status, 403);

    // The same page on a phone and in the dark theme.
    const phone = await newPage({ width: 390, height: 844, colorScheme: 'dark' });
    await phone.page.goto(await portalLink(customer.id));
    await phone.page.getByRole('link', { name: receiver.url, exact: true }).waitFor();
    await record(phone.page, 'endpoints-phone-dark');
    await phone.context.close();

    await page.getByRole('link', { name: 'Endpoints', exact: true }).first().click();
    await record(page, 'endpoints');
    await context.close();
    assert.deepEqual(pageErrors, []);
  });

  test('a link with an unknown or revoked token shows a clear page', async (t) => {
    const application = (await hookline.request('POST', '/api/v1/app', { name: 'Expired Link Co' })).body;
    const { context, page } = await newPage();
    await page.goto(`${hookline.url}/portal/app/${application.id}#token=appsk_no-such-token`);
    await page.getByRole('heading', { name: 'This link has expired', exact: true }).waitFor();
    assert.ok(!page.url().includes('no-such-token'));
    await record(page, 'expired-link');

    // A working link whose token is then revoked ends the session at the next request.
    const link = await portalLink(application.id);
    const token = /(?:token|key)=([^&]+)/.exec(link)?.[1] ?? '';
    await page.goto(link);
    await page.getByRole('heading', { name: 'No endpoints yet', exact: true }).waitFor();
    const logout = await fetch(`${hookline.url}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    if (logout.status === 404) {
      t.diagnostic('POST /api/v1/auth/logout is not on this server, so revocation is not checked');
    } else {
      assert.equal(logout.status, 204);
      await page.getByRole('link', { name: 'Logs', exact: true }).click();
      await page.getByRole('heading', { name: 'This link has expired', exact: true }).waitFor();
    }
    await context.close();
    assert.deepEqual(pageErrors, []);
  });

  test("the operator's path: sign in, create an application and an event type, open the portal", async () => {
    const { context, page } = await newPage();
    await page.goto(`${hookline.url}/portal/`);
    await page.getByRole('heading', { name: 'Sign in to Hookline', exact: true }).waitFor();
    await record(page, 'sign-in');
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('This is not the admin token').waitFor();
    await page.getByLabel('Admin token').fill(testAdminToken);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Applications', exact: true }).waitFor();

    await page.getByRole('button', { name: 'New application', exact: true }).click();
    await page.getByLabel('Name').fill('Harbour Logistics');
    await page.getByRole('button', { name: 'Create application', exact: true }).click();
    await page.getByRole('link', { name: 'Harbour Logistics', exact: true }).waitFor();
    const harbour = ((await hookline.request('GET', '/api/v1/app?limit=250')).body.data as { id: string; name: string }[]).find(
      (application) => application.name === 'Harbour Logistics',
    )?.id;
    assert.ok(harbour);
    await page.getByLabel('Search applications').fill('harbour');
    await record(page, 'applications');

    await page.getByRole('link', { name: 'Event catalog', exact: true }).click();
    await page.getByRole('button', { name: 'New event type', exact: true }).click();
    await page.getByLabel('Name').fill('shipment.delivered');
    await page.getByLabel('Description').fill('A shipment reached its destination');
    await page.getByRole('button', { name: 'Create event type', exact: true }).click();
    await page.getByRole('heading', { name: 'shipment.delivered', exact: true }).waitFor();
    const stored = await hookline.request('GET', '/api/v1/event-type/shipment.delivered');
    assert.equal(stored.status, 200);
    assert.equal(stored.body.description, 'A shipment reached its destination');

    await page.getByRole('link', { name: 'System', exact: true }).click();
    await page.getByRole('heading', { name: 'System', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Open circuit breakers', exact: true }).waitFor();
    await record(page, 'system');

    await page.getByRole('link', { name: 'Applications', exact: true }).click();
    await page.getByRole('link', { name: 'Open portal of Harbour Logistics', exact: true }).click();
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.getByText('Harbour Logistics').first().waitFor();
    await page.getByRole('heading', { name: 'No endpoints yet', exact: true }).waitFor();

    // The customer link that the operator copies opens the same application, without the operator's pages.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hookline.url });
    await page.getByRole('link', { name: 'Applications', exact: true }).click();
    await page.getByRole('button', { name: 'Customer link for Harbour Logistics', exact: true }).click();
    await page.getByRole('button', { name: 'Copy customer link', exact: true }).click();
    await page.getByRole('button', { name: 'Copied', exact: true }).waitFor();
    const link = String(await page.evaluate('navigator.clipboard.readText()'));
    assert.match(link, /\/portal\//);
    const customer = await newPage();
    await customer.page.goto(link);
    await customer.page.getByRole('heading', { name: 'No endpoints yet', exact: true }).waitFor();
    await customer.page.getByText('Harbour Logistics').first().waitFor();
    assert.equal(await customer.page.getByRole('link', { name: 'Applications', exact: true }).count(), 0);
    await customer.context.close();

    // A read-only link may look but not change: the first rejected change brings up a banner.
    await page.getByRole('button', { name: 'Read-only link for Harbour Logistics', exact: true }).click();
    await page.getByRole('button', { name: 'Copy read-only link', exact: true }).click();
    // The customer link's button may still show Copied, so the test reads the clipboard to know when the copy is done.
    let readOnlyLink = link;
    await waitFor(async () => {
      readOnlyLink = String(await page.evaluate('navigator.clipboard.readText()'));
      return readOnlyLink !== link;
    }, 10_000, 'the read-only link in the clipboard');
    assert.match(readOnlyLink, /\/portal\//);
    const reader = await newPage();
    await reader.page.goto(readOnlyLink);
    await reader.page.getByRole('link', { name: 'Add endpoint', exact: true }).first().click();
    await reader.page.getByLabel('Endpoint URL').fill('https://harbour.example/hooks');
    await reader.page.getByRole('button', { name: 'Create endpoint', exact: true }).click();
    await reader.page.getByText('This link is read-only').waitFor();
    await reader.page.getByText(/read-only; it may send GET requests/).waitFor();
    assert.equal((await hookline.request('GET', `/api/v1/app/${harbour}/endpoint`)).body.data.length, 0);
    await reader.context.close();
    await context.close();
    assert.deepEqual(pageErrors, []);
  });
});
