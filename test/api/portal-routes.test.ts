import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';

interface Hit {
  path: string;
  body: string;
  headers: IncomingHttpHeaders;
}

describe('portal routes', () => {
  let hookline: TestHookline;
  let receiverUrl: string;
  const hits: Hit[] = [];
  let closeReceiver: () => Promise<void>;

  before(async () => {
    hookline = await startTestHookline();
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        hits.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
        response.writeHead(request.url === '/fail' ? 500 : 200).end(request.url === '/fail' ? 'nope' : 'ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeReceiver = () => new Promise<void>((resolve) => server.close(() => resolve()));
    await hookline.request('POST', '/api/v1/event-type', {
      name: 'parcel.sent',
      description: 'A parcel left the depot',
      schemas: { '1': { type: 'object', examples: [{ parcelId: 'parcel_example', weightKg: 2 }] } },
    });
    await hookline.request('POST', '/api/v1/event-type', {
      name: 'parcel.lost',
      description: 'No example, only properties',
      schemas: { '1': { type: 'object', properties: { parcelId: { type: 'string' }, attempts: { type: 'integer' } } } },
    });
  });

  after(async () => {
    await closeReceiver?.();
    await hookline?.destroy();
  });

  async function createApp(name: string): Promise<string> {
    const response = await hookline.request('POST', '/api/v1/app', { name });
    assert.equal(response.status, 201);
    return response.body.id as string;
  }

  async function createEndpoint(appId: string, path: string, extra: Record<string, unknown> = {}): Promise<string> {
    const response = await hookline.request('POST', `/api/v1/app/${appId}/endpoint`, { url: `${receiverUrl}${path}`, ...extra });
    assert.equal(response.status, 201);
    return response.body.id as string;
  }

  test('send-example reaches only the chosen endpoint', async () => {
    const appId = await createApp('Example Co');
    const chosen = await createEndpoint(appId, '/chosen');
    await createEndpoint(appId, '/bystander');

    const response = await hookline.request('POST', `/api/v1/app/${appId}/endpoint/${chosen}/send-example`, { eventType: 'parcel.sent' });
    assert.equal(response.status, 200);
    assert.equal(response.body.eventType, 'parcel.sent');
    assert.deepEqual(response.body.payload, { parcelId: 'parcel_example', weightKg: 2 });

    await waitFor(() => hits.some((hit) => hit.headers['webhook-id'] === response.body.id), 10_000, 'the example to arrive');
    const received = hits.filter((hit) => hit.headers['webhook-id'] === response.body.id);
    assert.deepEqual(received.map((hit) => hit.path), ['/chosen']);
    assert.equal(received[0]?.body, '{"parcelId":"parcel_example","weightKg":2}');

    const endpoints = await hookline.request('GET', `/api/v1/app/${appId}/msg/${response.body.id}/endpoint`);
    assert.deepEqual(endpoints.body.data.map((entry: { id: string }) => entry.id), [chosen]);
  });

  test('send-example fills a placeholder from properties', async () => {
    const appId = await createApp('Placeholder Co');
    const endpointId = await createEndpoint(appId, '/placeholder');
    const response = await hookline.request('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/send-example`, { eventType: 'parcel.lost' });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.payload, { parcelId: 'example parcelId', attempts: 1 });
  });

  test('event type example matches send-example', async () => {
    const listed = await hookline.request('GET', '/api/v1/event-type/parcel.sent/example');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, { payload: { parcelId: 'parcel_example', weightKg: 2 }, fromSchemaExamples: true });

    const generated = await hookline.request('GET', '/api/v1/event-type/parcel.lost/example');
    assert.deepEqual(generated.body, { payload: { parcelId: 'example parcelId', attempts: 1 }, fromSchemaExamples: false });

    const missing = await hookline.request('GET', '/api/v1/event-type/parcel.unknown/example');
    assert.equal(missing.status, 404);
  });

  test('send-example rejects bad input by name', async () => {
    const appId = await createApp('Errors Co');
    const endpointId = await createEndpoint(appId, '/errors');
    const unknown = await hookline.request('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/send-example`, { eventType: 'no.such.type' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.detail, /no\.such\.type/);

    const missing = await hookline.request('POST', `/api/v1/app/${appId}/endpoint/${endpointId}/send-example`, {});
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.detail[0].loc, ['body', 'eventType']);

    const otherApp = await createApp('Other Co');
    const foreign = await hookline.request('POST', `/api/v1/app/${otherApp}/endpoint/${endpointId}/send-example`, { eventType: 'parcel.sent' });
    assert.equal(foreign.status, 404);
  });

  test('attempt request shows sent headers and body', async () => {
    const appId = await createApp('Request Co');
    const endpointId = await createEndpoint(appId, '/request', { headers: { Authorization: 'Bearer receiver-credential', 'X-Shop': 'north' } });
    const message = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'parcel.sent', payload: { parcelId: 'p-77' } });
    assert.equal(message.status, 202);

    let attemptId = '';
    await waitFor(async () => {
      const attempts = await hookline.request('GET', `/api/v1/app/${appId}/attempt/endpoint/${endpointId}`);
      attemptId = attempts.body.data[0]?.id ?? '';
      return attemptId !== '';
    }, 10_000, 'an attempt');

    const request = await hookline.request('GET', `/api/v1/app/${appId}/msg/${message.body.id}/attempt/${attemptId}/request`);
    assert.equal(request.status, 200);
    assert.equal(request.body.body, '{"parcelId":"p-77"}');
    assert.equal(request.body.headers['webhook-id'], message.body.id);
    assert.equal(request.body.headers['X-Shop'] ?? request.body.headers['x-shop'], 'north');
    const authorization = Object.entries(request.body.headers as Record<string, string>).find(([name]) => name.toLowerCase() === 'authorization');
    assert.deepEqual(authorization?.[1], '(hidden)');
    assert.ok(!JSON.stringify(request.body).includes('receiver-credential'));
  });

  test('message log filters by status and event type', async () => {
    const appId = await createApp('Log Co');
    const good = await createEndpoint(appId, '/good');
    const bad = await createEndpoint(appId, '/fail', { eventTypes: ['parcel.lost'] });
    const sent = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'parcel.sent', payload: { n: 1 } });
    const lost = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'parcel.lost', payload: { n: 2 } });

    await waitFor(async () => {
      const log = await hookline.request('GET', `/api/v1/app/${appId}/portal/message-log?status=2`);
      return log.body.data.length === 1;
    }, 15_000, 'a failed delivery');

    const failed = await hookline.request('GET', `/api/v1/app/${appId}/portal/message-log?status=2`);
    assert.deepEqual(failed.body.data.map((entry: { id: string }) => entry.id), [lost.body.id]);
    const deliveries = failed.body.data[0].deliveries as { endpointId: string; url: string; statusText: string }[];
    assert.deepEqual(
      deliveries.map((delivery) => delivery.endpointId).sort(),
      [good, bad].sort(),
    );
    assert.equal(deliveries.find((delivery) => delivery.endpointId === bad)?.statusText, 'fail');
    assert.equal(deliveries.find((delivery) => delivery.endpointId === bad)?.url, `${receiverUrl}/fail`);

    const byType = await hookline.request('GET', `/api/v1/app/${appId}/portal/message-log?event_types=parcel.sent`);
    assert.deepEqual(byType.body.data.map((entry: { id: string }) => entry.id), [sent.body.id]);

    const all = await hookline.request('GET', `/api/v1/app/${appId}/portal/message-log?limit=1`);
    assert.equal(all.body.data[0].id, lost.body.id, 'newest first');
    assert.equal(all.body.done, false);
    const next = await hookline.request('GET', `/api/v1/app/${appId}/portal/message-log?limit=1&iterator=${all.body.iterator}`);
    assert.equal(next.body.data[0].id, sent.body.id);

    const badStatus = await hookline.request('GET', `/api/v1/app/${appId}/portal/message-log?status=9`);
    assert.equal(badStatus.status, 422);
    assert.deepEqual(badStatus.body.detail[0].loc, ['query', 'status']);
  });

  test('message log is scoped to the token', async () => {
    const mine = await createApp('Mine Co');
    const theirs = await createApp('Theirs Co');
    const access = await hookline.request('POST', `/api/v1/auth/app-portal-access/${mine}`, {});
    const token = access.body.token as string;
    const own = await fetch(`${hookline.url}/api/v1/app/${mine}/portal/message-log`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(own.status, 200);
    const foreign = await fetch(`${hookline.url}/api/v1/app/${theirs}/portal/message-log`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(foreign.status, 403);
  });
});
