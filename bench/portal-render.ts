// Measures the portal's production build and the time to first render of the endpoints
// page with 1,000 endpoints and 100,000 attempts in the store, in Debian's Chromium.
// Usage: npm run bench:portal (builds first, then runs this file)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defaultPortalDirectory } from '../src/api/portal-assets.js';
import { createId } from '../src/store/ids.js';
import { browserUnavailable, launchChromium } from '../test/helpers/browser.js';
import { startTestHookline } from '../test/helpers/hookline.js';

const endpointCount = 1_000;
const attemptCount = 100_000;
const endpointsPerMessage = 5;
const runs = 5;

function buildSize(): { files: number; bytes: number; gzipBytes: number; javascriptGzipBytes: number } {
  const result = { files: 0, bytes: 0, gzipBytes: 0, javascriptGzipBytes: 0 };
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      const body = readFileSync(path);
      const gzipped = gzipSync(body).length;
      result.files += 1;
      result.bytes += body.length;
      result.gzipBytes += gzipped;
      if (name.endsWith('.js')) {
        result.javascriptGzipBytes += gzipped;
      }
    }
  };
  walk(defaultPortalDirectory);
  return result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const unavailable = browserUnavailable();
if (unavailable) {
  console.error(`Cannot measure: ${unavailable}`);
  process.exit(1);
}

const size = buildSize();
const hookline = await startTestHookline({ logLevel: 'warn' }, { api: true, worker: false });
try {
  const application = (await hookline.request('POST', '/api/v1/app', { name: 'Measured Co' })).body as { id: string };
  const db = hookline.store.db;
  const seedStarted = Date.now();
  const start = Date.now() - 7 * 24 * 3_600_000;

  const endpoints = Array.from({ length: endpointCount }, (_, index) => ({
    id: createId('ep', start + index),
    app_id: application.id,
    uid: null,
    url: `https://receiver-${index}.example/webhooks`,
    description: `Endpoint ${index}`,
    disabled: index % 50 === 0 ? 1 : 0,
    throttle_rate: null,
    event_types: JSON.stringify(['invoice.paid']),
    channels: null,
    metadata: '{}',
    headers: '{}',
    created_at: start + index,
    updated_at: start + index,
  }));
  for (let offset = 0; offset < endpoints.length; offset += 200) {
    await db.insertInto('endpoint').values(endpoints.slice(offset, offset + 200)).execute();
  }

  const messageCount = attemptCount / endpointsPerMessage;
  for (let offset = 0; offset < messageCount; offset += 400) {
    await db.transaction().execute(async (transaction) => {
      const messages = [];
      const deliveries = [];
      const attempts = [];
      for (let index = offset; index < Math.min(offset + 400, messageCount); index += 1) {
        const time = start + index * 30_000;
        const msgId = createId('msg', time);
        messages.push({ id: msgId, app_id: application.id, event_type: 'invoice.paid', event_id: null, payload: Buffer.from(`{"n":${index}}`), channels: null, tags: null, created_at: time, fanned_out: 1 });
        for (let copy = 0; copy < endpointsPerMessage; copy += 1) {
          const endpoint = endpoints[(index * endpointsPerMessage + copy) % endpointCount] as (typeof endpoints)[number];
          const failed = (index + copy) % 10 === 0;
          const deliveryId = createId('dlv', time);
          deliveries.push({ id: deliveryId, msg_id: msgId, endpoint_id: endpoint.id, app_id: application.id, status: failed ? 2 : 0, attempt_count: 1, next_attempt_at: null, created_at: time, updated_at: time });
          attempts.push({
            id: createId('atmpt', time),
            delivery_id: deliveryId,
            msg_id: msgId,
            endpoint_id: endpoint.id,
            app_id: application.id,
            url: endpoint.url,
            status: failed ? 2 : 0,
            response_status_code: failed ? 500 : 200,
            response: failed ? 'error' : 'ok',
            response_duration_ms: 20 + (index % 200),
            trigger_type: 0,
            error: null,
            request_headers: '{}',
            created_at: time,
          });
        }
      }
      await transaction.insertInto('message').values(messages).execute();
      for (let chunk = 0; chunk < deliveries.length; chunk += 200) {
        await transaction.insertInto('delivery').values(deliveries.slice(chunk, chunk + 200)).execute();
        await transaction.insertInto('attempt').values(attempts.slice(chunk, chunk + 200)).execute();
      }
    });
  }
  const seedSeconds = (Date.now() - seedStarted) / 1000;

  const access = (await hookline.request('POST', `/api/v1/auth/app-portal-access/${application.id}`, {})).body as { url: string };
  const chromium = await launchChromium();
  const cold: number[] = [];
  const warm: number[] = [];
  try {
    for (let run = 0; run < runs; run += 1) {
      const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      for (const series of [cold, warm]) {
        await page.goto(series === cold ? access.url : `${hookline.url}/portal/app/${application.id}/endpoints`, { waitUntil: 'commit' });
        await page.locator('table[aria-label="Endpoints"] tbody tr').first().waitFor();
        // Time from the start of the navigation to the first rendered endpoint row, in the page's clock.
        series.push(await page.evaluate(() => performance.now()));
      }
      await context.close();
    }
  } finally {
    await chromium.close();
  }

  const listStarted = Date.now();
  await hookline.request('GET', `/api/v1/app/${application.id}/endpoint?limit=50`);
  const listMs = Date.now() - listStarted;

  console.log(
    JSON.stringify(
      {
        build: size,
        store: { endpoints: endpointCount, attempts: attemptCount, messages: messageCount, seedSeconds },
        firstRenderMs: { coldCacheMedian: Math.round(median(cold)), warmCacheMedian: Math.round(median(warm)), cold: cold.map(Math.round), warm: warm.map(Math.round) },
        endpointListRequestMs: listMs,
      },
      null,
      2,
    ),
  );
} finally {
  await hookline.destroy();
}
