import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { fakeLookup } from '../delivery/fake-lookup.js';
import { answer, startReceiver, type Receiver } from '../delivery/receiver.js';

// Every way of writing a receiver on 127.0.0.1. Names resolve only through the injected
// lookup, which maps them to 127.0.0.1, so no test queries real DNS.
const notations = [
  '127.0.0.1',
  'localhost',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '2130706433',
  '0x7f.1',
  '0x7f000001',
  '0177.0.0.1',
  '127.1',
  'receiver.hookline.test',
];
const lookup = fakeLookup({ localhost: ['127.0.0.1'], 'receiver.hookline.test': ['127.0.0.1'] });

interface Sent {
  appId: string;
  endpoints: Array<{ host: string; id: string }>;
  msgId: string;
}

/**
 * Creates one endpoint per notation and sends one message to all of them. `[::1]` is
 * included when a receiver on ::1 could be started.
 */
async function sendToEveryNotation(hookline: TestHookline, port: number, ipv6Port: number | undefined): Promise<Sent> {
  const app = await hookline.request('POST', '/api/v1/app', { name: 'notations' });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const targets = notations.map((host) => ({ host, url: `http://${host}:${port}/hook` }));
  if (ipv6Port !== undefined) {
    targets.push({ host: '[::1]', url: `http://[::1]:${ipv6Port}/hook` });
  }
  const endpoints: Sent['endpoints'] = [];
  for (const { host, url } of targets) {
    const created = await hookline.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url });
    assert.equal(created.status, 201, `${host}: ${JSON.stringify(created.body)}`);
    endpoints.push({ host, id: created.body.id });
  }
  const message = await hookline.request('POST', `/api/v1/app/${app.body.id}/msg`, { eventType: 'probe.sent', payload: { ok: true } });
  assert.equal(message.status, 202, JSON.stringify(message.body));
  return { appId: app.body.id, endpoints, msgId: message.body.id };
}

async function finalAttempts(hookline: TestHookline, sent: Sent, endpointId: string): Promise<any[]> {
  let attempts: any[] = [];
  await waitFor(
    async () => {
      const destinations = await hookline.request('GET', `/api/v1/app/${sent.appId}/msg/${sent.msgId}/endpoint`);
      const destination = destinations.body.data.find((item: any) => item.id === endpointId);
      if (destination === undefined || destination.status === 1 || destination.status === 3) {
        return false;
      }
      const listed = await hookline.request('GET', `/api/v1/app/${sent.appId}/attempt/endpoint/${endpointId}`);
      attempts = listed.body.data;
      return true;
    },
    15_000,
    `the delivery to ${endpointId} to finish`,
  );
  return attempts;
}

/** Starts a receiver on ::1, or returns undefined where IPv6 loopback cannot be bound. */
async function startIpv6Receiver(): Promise<Receiver | undefined> {
  return startReceiver(answer(200, 'received'), '::1').catch(() => undefined);
}

describe('SSRF guard with default policy', () => {
  let hookline: TestHookline;
  let receiver: Receiver;
  let ipv6Receiver: Receiver | undefined;

  before(async () => {
    receiver = await startReceiver(answer(200, 'received'));
    ipv6Receiver = await startIpv6Receiver();
    hookline = await startTestHookline({ devAllowLoopback: false, allowPrivateNetworks: [] }, undefined, 'embedded', { lookup });
  });
  after(async () => {
    await hookline.destroy();
    await receiver.close();
    await ipv6Receiver?.close();
  });

  test('blocks every loopback notation', async () => {
    const sent = await sendToEveryNotation(hookline, receiver.port, ipv6Receiver?.port);
    for (const { host, id } of sent.endpoints) {
      const attempts = await finalAttempts(hookline, sent, id);
      assert.equal(attempts.length, 1, `${host}: a blocked delivery is not retried`);
      const [attempt] = attempts;
      assert.equal(attempt.status, 2, host);
      assert.equal(attempt.responseStatusCode, 0, host);
      assert.match(attempt.response, /^Blocked delivery to .*(127\.0\.0\.1|::1)\)?: the address is in the loopback range/, host);
    }
    assert.equal(receiver.connections, 0);
    assert.equal(receiver.requests.length, 0);
    assert.equal(ipv6Receiver?.connections ?? 0, 0);
  });

  test('blocked endpoint keeps its breaker closed', async () => {
    const sent = await sendToEveryNotation(hookline, receiver.port, undefined);
    const endpoint = sent.endpoints[0]!;
    await finalAttempts(hookline, sent, endpoint.id);
    const health = await hookline.request('GET', `/api/v1/app/${sent.appId}/endpoint/${endpoint.id}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body.breaker, 'closed');
    assert.equal(health.body.consecutiveFailures, 0);
    assert.equal(health.body.disabled, false);
  });

  test('start-up logs no private network warning', () => {
    assert.equal(hookline.logs.some((line) => String(line.msg).startsWith('Deliveries may reach private addresses')), false);
  });
});

describe('SSRF guard with loopback allowed', () => {
  let hookline: TestHookline;
  let receiver: Receiver;
  let ipv6Receiver: Receiver | undefined;

  before(async () => {
    receiver = await startReceiver(answer(200, 'received'));
    ipv6Receiver = await startIpv6Receiver();
    hookline = await startTestHookline(
      { devAllowLoopback: false, allowPrivateNetworks: ['127.0.0.0/8', '::1/128'] },
      undefined,
      'embedded',
      { lookup },
    );
  });
  after(async () => {
    await hookline.destroy();
    await receiver.close();
    await ipv6Receiver?.close();
  });

  test('delivers every loopback notation', async () => {
    const sent = await sendToEveryNotation(hookline, receiver.port, ipv6Receiver?.port);
    for (const { host, id } of sent.endpoints) {
      const attempts = await finalAttempts(hookline, sent, id);
      assert.equal(attempts.length, 1, host);
      assert.equal(attempts[0].status, 0, `${host}: ${attempts[0].response}`);
      assert.equal(attempts[0].responseStatusCode, 200, host);
    }
    assert.equal(receiver.requests.length, notations.length);
    assert.equal(ipv6Receiver?.requests.length ?? 0, ipv6Receiver === undefined ? 0 : 1);
  });

  test('start-up warns about the open ranges', () => {
    const warning = hookline.logs.find((line) => String(line.msg).startsWith('Deliveries may reach private addresses'));
    assert.ok(warning);
    assert.equal(warning.level, 40);
    assert.deepEqual(warning.allowedCidrs, ['127.0.0.0/8', '::1/128']);
  });
});

describe('endpoint URL checks at creation', () => {
  let hookline: TestHookline;

  before(async () => {
    hookline = await startTestHookline();
  });
  after(() => hookline.destroy());

  test('rejects bad URLs with 422 naming the problem', async () => {
    const app = await hookline.request('POST', '/api/v1/app', { name: 'bad urls' });
    const cases: Array<[string, string, RegExp]> = [
      ['http://user:pass@hooks.example.com/', 'value_error.url.credentials', /must not contain credentials/],
      ['ftp://hooks.example.com/', 'value_error.url.scheme', /scheme "ftp" is not supported/],
      ['file:///etc/passwd', 'value_error.url.scheme', /scheme "file" is not supported/],
      ['gopher://hooks.example.com/', 'value_error.url.scheme', /scheme "gopher" is not supported/],
      ['http://hooks..example.com/', 'value_error.url.host', /empty label/],
      ['http://hooks!.example.com/', 'value_error.url.host', /not a DNS label/],
      ['http://-hooks.example.com/', 'value_error.url.host', /not a DNS label/],
      [`http://${'a'.repeat(64)}.example.com/`, 'value_error.url.host', /not a DNS label/],
      ['http://[::1/', 'value_error.url', /is not a valid URL/],
      ['http://999.1.1.1/', 'value_error.url', /is not a valid URL/],
    ];
    for (const [url, type, message] of cases) {
      const response = await hookline.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url });
      assert.equal(response.status, 422, url);
      const [problem] = response.body.detail;
      assert.deepEqual(problem.loc, ['body', 'url'], url);
      assert.equal(problem.type, type, url);
      assert.match(problem.msg, message, url);
    }
  });
});
