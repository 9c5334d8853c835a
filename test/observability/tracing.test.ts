import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startReceiver } from '../delivery/receiver.js';
import { waitFor } from '../helpers/hookline.js';
import { testAdminToken } from '../helpers/hookline.js';
import { spawnHookline, stopHookline } from '../helpers/hookline-process.js';
import { currentTraceCarrier, tracingEnabled } from '../../src/observability/tracing.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** Starts an OTLP/HTTP receiver on loopback that keeps the spans of JSON export requests. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; server: Server }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const resource of body.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              const attributes: Record<string, unknown> = {};
              for (const attribute of span.attributes ?? []) {
                const value = attribute.value ?? {};
                attributes[attribute.key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue;
              }
              spans.push({ traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId || undefined, name: span.name, attributes });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

test('spans link a request, its fan-out and its attempt', { timeout: 60_000 }, async (context) => {
  const collector = await startCollector();
  const receiver = await startReceiver((_request, response) => {
    response.writeHead(204);
    response.end();
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-tracing-'));
  const hookline = await spawnHookline({
    HOOKLINE_DATA_DIR: dataDir,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  context.after(async () => {
    await stopHookline(hookline, 'SIGKILL').catch(() => undefined);
    await receiver.close();
    await new Promise<void>((resolve) => collector.server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Traced', uid: 'traced' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app/traced/endpoint', { url: `http://127.0.0.1:${receiver.port}/` })).status, 201);

  // The producer continues its own trace through the traceparent header.
  const clientTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientSpanId = '00f067aa0ba902b7';
  const posted = await fetch(`${hookline.url}/api/v1/app/traced/msg`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${testAdminToken}`,
      'content-type': 'application/json',
      traceparent: `00-${clientTraceId}-${clientSpanId}-01`,
    },
    body: JSON.stringify({ eventType: 'trap.set', payload: { traced: true } }),
  });
  assert.equal(posted.status, 202);
  const msgId = ((await posted.json()) as { id: string }).id;
  await waitFor(() => receiver.requests.length === 1, 15_000, 'the delivery');
  assert.equal(receiver.requests[0]?.headers.traceparent, undefined, 'the trace context stays inside Hookline');

  await waitFor(() => collector.spans.some((span) => span.name === 'delivery attempt'), 15_000, 'the attempt span to be exported');
  assert.equal((await stopHookline(hookline, 'SIGTERM')).code, 0);

  const trace = collector.spans.filter((span) => span.traceId === clientTraceId);
  const request = trace.find((span) => span.name === 'POST /api/v1/app/:app_id/msg');
  assert.ok(request, `no request span in ${JSON.stringify(trace.map((span) => span.name))}`);
  assert.equal(request.parentSpanId, clientSpanId);
  assert.equal(request.attributes['http.response.status_code'], 202);

  const fanOut = trace.find((span) => span.name === 'fan-out');
  assert.ok(fanOut, 'no fan-out span in the trace');
  assert.equal(fanOut.parentSpanId, request.spanId);
  assert.equal(fanOut.attributes['hookline.msg_id'], msgId);

  const attempt = trace.find((span) => span.name === 'delivery attempt');
  assert.ok(attempt, 'no attempt span in the trace');
  assert.equal(attempt.parentSpanId, fanOut.spanId);
  assert.equal(attempt.attributes['hookline.msg_id'], msgId);
  assert.equal(attempt.attributes['hookline.outcome'], 'success');
  assert.equal(Number(attempt.attributes['http.response.status_code']), 204);
});

test('tracing stays off without an OTLP endpoint', () => {
  assert.equal(tracingEnabled(), false);
  assert.equal(currentTraceCarrier(), undefined);
});
