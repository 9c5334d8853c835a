import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { browserUnavailable, launchFirefox } from '../helpers/browser.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';

/** Starts a webhook receiver on loopback that responds with 200 and records the id of each webhook. */
async function startReceiver() {
  const received: string[] = [];
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push(String(request.headers['webhook-id']));
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** XPath string literal for text without double quotes. */
function literal(text: string): string {
  assert.ok(!text.includes('"'), 'the text has no double quote');
  return `"${text}"`;
}

const heading = (name: string) => `::-p-xpath(.//*[self::h1 or self::h2][normalize-space()=${literal(name)}])`;
const link = (name: string) => `::-p-xpath(.//a[normalize-space()=${literal(name)}])`;
const button = (name: string) => `::-p-xpath(.//button[normalize-space()=${literal(name)}])`;
/** The control that a `<label>` with this exact text names. */
const field = (label: string) => `::-p-xpath(.//*[@id=//label[normalize-space()=${literal(label)}]/@for])`;

/** Text and place of the element that has the keyboard focus. */
interface Focused {
  text: string;
  /** The aria-label of the enclosing `<nav>`, if any. */
  nav: string | null;
  current: string | null;
  id: string;
}

/** Returns the text and place of the element that has the keyboard focus. */
async function focused(page: Page): Promise<Focused> {
  // A string, because the project's TypeScript settings have no DOM types.
  return (await page.evaluate(`(() => {
    const element = document.activeElement;
    return {
      text: (element?.textContent ?? '').trim(),
      nav: element?.closest('nav')?.getAttribute('aria-label') ?? null,
      current: element?.getAttribute('aria-current') ?? null,
      id: element?.id ?? '',
    };
  })()`)) as Focused;
}

/** Presses a key until the focus is on the link of the operator's navigation with this text. */
async function tabToNavLink(page: Page, name: string, key: 'Tab' | 'Shift+Tab'): Promise<void> {
  for (let presses = 0; presses < 20; presses += 1) {
    if (key === 'Tab') {
      await page.keyboard.press('Tab');
    } else {
      await page.keyboard.down('Shift');
      await page.keyboard.press('Tab');
      await page.keyboard.up('Shift');
    }
    const now = await focused(page);
    if (now.nav === 'Operator' && now.text === name) {
      return;
    }
  }
  assert.fail(`${key} never reached the navigation link ${name}`);
}

const skip = browserUnavailable('firefox');

describe('portal in Firefox', { skip }, () => {
  let hookline: TestHookline;
  let firefox: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let applicationId: string;

  before(async () => {
    hookline = await startTestHookline();
    receiver = await startReceiver();
    firefox = await launchFirefox();
    const application = await hookline.request('POST', '/api/v1/app', { name: 'Lighthouse Bakery' });
    assert.equal(application.status, 201);
    applicationId = application.body.id as string;
    assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Quay Fisheries' })).status, 201);
    const eventType = await hookline.request('POST', '/api/v1/event-type', { name: 'order.baked', description: 'An order came out of the oven' });
    assert.equal(eventType.status, 201);
  });

  after(async () => {
    await firefox?.close();
    await receiver?.close();
    await hookline?.destroy();
  });

  test("operator's main path with keyboard navigation", async () => {
    const version = await firefox.version();
    assert.match(version, /^firefox\//i);

    const page = await firefox.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    /** Uncaught errors and console errors, which the test expects to be none. */
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error instanceof Error ? error.message : String(error)));
    // Firefox reports content security policy violations as console errors.
    page.on('console', (message) => {
      if (message.type() === 'error') {
        pageErrors.push(message.text());
      }
    });

    // Sign in as the operator with the admin token.
    await page.goto(`${hookline.url}/portal/`);
    await page.waitForSelector(heading('Sign in to Hookline'));
    await page.locator(field('Admin token')).fill(testAdminToken);
    await page.locator(button('Sign in')).click();
    await page.waitForSelector(heading('Applications'));
    await page.waitForSelector(link('Quay Fisheries'));

    // The keyboard alone moves through the operator's navigation: Tab or Shift+Tab to a link,
    // Enter to follow it. The focus then lands on the page's content, after the navigation.
    await tabToNavLink(page, 'Event catalog', 'Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector(heading('order.baked'));
    assert.match(page.url(), /\/portal\/catalog$/);
    assert.equal((await focused(page)).id, 'main', 'following a link moves the focus to the new page');
    await tabToNavLink(page, 'System', 'Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector(heading('System'));
    assert.match(page.url(), /\/portal\/system$/);
    await tabToNavLink(page, 'Applications', 'Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector(link('Lighthouse Bakery'));
    assert.match(page.url(), /\/portal\/apps$/);
    await tabToNavLink(page, 'Applications', 'Shift+Tab');
    assert.equal((await focused(page)).current, 'page', 'the link of the open page is marked as current');

    // Open an application from the list: its endpoints page is empty.
    await page.locator(link('Open portal of Lighthouse Bakery')).click();
    await page.waitForSelector(heading('No endpoints yet'));
    assert.ok(page.url().endsWith(`/portal/app/${applicationId}/endpoints`), page.url());

    // The API rejects a URL that is not one, and its message appears under the field.
    await page.locator(link('Add endpoint')).click();
    await page.waitForSelector(heading('Add endpoint'));
    await page.locator(field('Endpoint URL')).fill('not a url');
    await page.locator(button('Create endpoint')).click();
    await page.waitForSelector('.field-invalid .field-error');
    assert.match(String(await page.evaluate(`document.querySelector('.field-invalid .field-error').textContent`)), /url/i);
    assert.equal(await page.$eval(field('Endpoint URL'), (element) => element.getAttribute('aria-invalid')), 'true');
    assert.equal((await hookline.request('GET', `/api/v1/app/${applicationId}/endpoint`)).body.data.length, 0);

    // A good URL creates the endpoint, and the list shows it.
    await page.locator(field('Endpoint URL')).fill(receiver.url);
    await page.locator(field('Description')).fill('Oven order board');
    await page.locator(button('Create endpoint')).click();
    await page.waitForSelector(heading(receiver.url));
    const endpoints = (await hookline.request('GET', `/api/v1/app/${applicationId}/endpoint`)).body.data as { url: string; description: string }[];
    assert.deepEqual(
      endpoints.map((endpoint) => [endpoint.url, endpoint.description]),
      [[receiver.url, 'Oven order board']],
    );
    await page.locator(`nav[aria-label="Application"] ${link('Endpoints')}`).click();
    await page.waitForSelector(`table[aria-label="Endpoints"] ${link(receiver.url)}`);
    await page.locator(`table[aria-label="Endpoints"] ${link(receiver.url)}`).click();
    await page.waitForSelector(heading('Message attempts'));

    // A message sent through the API arrives, and the endpoint's attempts show it succeeded.
    const sent = await hookline.request('POST', `/api/v1/app/${applicationId}/msg`, { eventType: 'order.baked', payload: { orderId: 'loaf-17' } });
    assert.equal(sent.status, 202);
    const messageId = sent.body.id as string;
    await waitFor(() => receiver.received.includes(messageId), 10_000, 'the message to arrive');
    const attemptRow = `::-p-xpath(.//table[@aria-labelledby="attempts-title"]//tr[.//a[normalize-space()=${literal(messageId)}]])`;
    await page.waitForSelector(`${attemptRow} .badge-success`, { timeout: 20_000 });
    const rowText = await page.$eval(attemptRow, (row) => row.textContent ?? '');
    assert.match(rowText, /Succeeded/);
    assert.match(rowText, /HTTP 200/);

    // The message log lists the message, and its page shows the payload and the delivery.
    await page.locator(`nav[aria-label="Application"] ${link('Logs')}`).click();
    await page.waitForSelector(`table[aria-label="Messages"] ${link(messageId)}`);
    await page.locator(`table[aria-label="Messages"] ${link(messageId)}`).click();
    await page.waitForSelector('::-p-xpath(.//pre[@aria-label="Payload"][contains(., "loaf-17")])');
    await page.waitForSelector(`table[aria-labelledby="message-attempts-title"] .badge-success`);
    assert.ok(page.url().endsWith(`/portal/app/${applicationId}/logs/${messageId}`), page.url());

    await page.close();
    assert.deepEqual(pageErrors, []);
  });
});
