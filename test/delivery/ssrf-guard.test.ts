import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createWebhookSender, type WebhookSender, type WebhookSenderOptions } from '../../src/delivery/http-sender.js';
import { fakeLookup } from './fake-lookup.js';
import { answer, startReceiver, type Receiver } from './receiver.js';

// Every way of writing the address of a receiver on 127.0.0.1 (or ::1), all of which
// must reach the same decision. Host names resolve through the injected lookup only.
const ipv4Hosts = [
  '127.0.0.1',
  'localhost',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '2130706433',
  '0x7f.1',
  '0x7f000001',
  '0177.0.0.1',
  '127.1',
  '127.0.0.1.',
  'receiver.hookline.test',
];
const ipv6Hosts = ['[::1]', 'ip6-localhost.hookline.test'];

const lookupTable = {
  localhost: ['127.0.0.1'],
  'receiver.hookline.test': ['127.0.0.1'],
  'dual.hookline.test': ['127.0.0.1', '::1'],
  'ip6-localhost.hookline.test': ['::1'],
};

interface Receivers {
  ipv4: Receiver;
  /** Undefined when this machine cannot bind ::1. */
  ipv6: Receiver | undefined;
}

async function startReceivers(t: TestContext): Promise<Receivers> {
  const ipv4 = await startReceiver(answer(200, 'received'));
  t.after(() => ipv4.close());
  const ipv6 = await startReceiver(answer(200, 'received'), '::1').catch(() => undefined);
  if (ipv6) {
    t.after(() => ipv6.close());
  }
  return { ipv4, ipv6 };
}

function createSender(t: TestContext, options: WebhookSenderOptions): WebhookSender {
  const sender = createWebhookSender({ lookup: fakeLookup(lookupTable), timeoutMs: 2_000, ...options });
  t.after(() => sender.close());
  return sender;
}

function targets(receivers: Receivers): Array<{ host: string; url: string | undefined }> {
  return [
    ...ipv4Hosts.map((host) => ({ host, url: `http://${host}:${receivers.ipv4.port}/hook` })),
    ...ipv6Hosts.map((host) => ({
      host,
      url: receivers.ipv6 ? `http://${host}:${receivers.ipv6.port}/hook` : undefined,
    })),
  ];
}

function connectionCount(receivers: Receivers): number {
  return receivers.ipv4.connections + (receivers.ipv6?.connections ?? 0);
}

test('default policy blocks every loopback notation', async (t) => {
  const receivers = await startReceivers(t);
  const sender = createSender(t, {});

  for (const { host, url } of targets(receivers)) {
    await t.test(host, async (st) => {
      if (url === undefined) {
        st.skip('::1 cannot be bound on this machine');
        return;
      }
      const result = await sender.send({ url, headers: {}, body: Buffer.from('{}') });
      assert.equal(result.kind, 'error', JSON.stringify(result));
      assert.equal(result.kind === 'error' && result.reason, 'blocked', JSON.stringify(result));
      assert.match(result.kind === 'error' ? result.message : '', /(127\.0\.0\.1|::1)\)?: the address is in the loopback range/);
    });
  }

  // A name that resolves to both loopback addresses is blocked before any connection.
  // It is not sent with loopback allowed, because the ::1 attempt would go to a port
  // that only the IPv4 receiver opened.
  const dual = await sender.send({
    url: `http://dual.hookline.test:${receivers.ipv4.port}/`,
    headers: {},
    body: Buffer.from('{}'),
  });
  assert.equal(dual.kind === 'error' && dual.reason, 'blocked', JSON.stringify(dual));

  assert.equal(receivers.ipv4.requests.length, 0);
  assert.equal(receivers.ipv6?.requests.length ?? 0, 0);
  assert.equal(connectionCount(receivers), 0);
});

test('allowed loopback delivers every notation', async (t) => {
  const receivers = await startReceivers(t);
  const sender = createSender(t, { allowedCidrs: ['127.0.0.0/8', '::1/128'] });

  let delivered = 0;
  for (const { host, url } of targets(receivers)) {
    await t.test(host, async (st) => {
      if (url === undefined) {
        st.skip('::1 cannot be bound on this machine');
        return;
      }
      const result = await sender.send({ url, headers: {}, body: Buffer.from('{}') });
      assert.equal(result.kind, 'response', JSON.stringify(result));
      assert.equal(result.kind === 'response' && result.statusCode, 200);
      assert.equal(result.kind === 'response' && result.body, 'received');
      delivered += 1;
    });
  }

  const received = receivers.ipv4.requests.length + (receivers.ipv6?.requests.length ?? 0);
  assert.equal(received, delivered);
  assert.ok(delivered >= ipv4Hosts.length);
});

test('allowing IPv4 loopback keeps ::1 blocked', async (t) => {
  const receivers = await startReceivers(t);
  if (!receivers.ipv6) {
    t.skip('::1 cannot be bound on this machine');
    return;
  }
  const sender = createSender(t, { allowedCidrs: ['127.0.0.0/8'] });

  for (const host of ['[::1]', 'ip6-localhost.hookline.test']) {
    const result = await sender.send({ url: `http://${host}:${receivers.ipv6.port}/`, headers: {}, body: Buffer.from('{}') });
    assert.equal(result.kind === 'error' && result.reason, 'blocked', `${host}: ${JSON.stringify(result)}`);
  }
  // A name with one allowed and one blocked address is blocked as a whole.
  const dual = await sender.send({
    url: `http://dual.hookline.test:${receivers.ipv4.port}/`,
    headers: {},
    body: Buffer.from('{}'),
  });
  assert.equal(dual.kind === 'error' && dual.reason, 'blocked', JSON.stringify(dual));
  assert.equal(connectionCount(receivers), 0);
});

test('unrelated allowed range keeps loopback blocked', async (t) => {
  const receivers = await startReceivers(t);
  const sender = createSender(t, { allowedCidrs: ['10.0.0.0/8', 'fd00::/8'] });

  const result = await sender.send({
    url: `http://receiver.hookline.test:${receivers.ipv4.port}/`,
    headers: {},
    body: Buffer.from('{}'),
  });
  assert.equal(result.kind === 'error' && result.reason, 'blocked', JSON.stringify(result));
  assert.equal(connectionCount(receivers), 0);
});
