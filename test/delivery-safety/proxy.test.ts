import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWebhookSender } from '../../src/delivery/http-sender.js';
import { fakeLookup } from '../delivery/fake-lookup.js';
import { answer, startReceiver, type Receiver } from '../delivery/receiver.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js';
import { startTestHookline, waitFor } from '../helpers/hookline.js';

const lookup = fakeLookup({ 'receiver.hookline.test': ['127.0.0.1'] });

describe('deliveries through HOOKLINE_PROXY_URL', () => {
  let proxy: ForwardProxy;
  let receiver: Receiver;

  before(async () => {
    proxy = await startForwardProxy();
    receiver = await startReceiver(answer(200, 'received'));
  });
  after(async () => {
    await proxy.close();
    await receiver.close();
  });

  test('proxy forwards to the checked address', async (t) => {
    const sender = createWebhookSender({ proxyUrl: proxy.url, allowedCidrs: ['127.0.0.0/8'], lookup, timeoutMs: 5_000 });
    t.after(() => sender.close());
    const before = proxy.requests.length;

    const result = await sender.send({
      url: `http://receiver.hookline.test:${receiver.port}/hook?x=1`,
      headers: { 'webhook-id': 'msg_proxy' },
      body: Buffer.from('{"via":"proxy"}'),
    });

    assert.equal(result.kind, 'response', JSON.stringify(result));
    assert.equal(result.kind === 'response' && result.statusCode, 200);
    const proxied = proxy.requests.slice(before);
    assert.equal(proxied.length, 1);
    // The proxy is asked for the address that the guard checked, not for the name.
    assert.equal(proxied[0]?.target, `http://127.0.0.1:${receiver.port}/hook?x=1`);
    assert.equal(proxied[0]?.host, `receiver.hookline.test:${receiver.port}`);
    const delivered = receiver.requests.at(-1);
    assert.equal(delivered?.headers.host, `receiver.hookline.test:${receiver.port}`);
    assert.equal(delivered?.headers['webhook-id'], 'msg_proxy');
    assert.equal(delivered?.body.toString(), '{"via":"proxy"}');
  });

  test('guard blocks the target before the proxy', async (t) => {
    const sender = createWebhookSender({ proxyUrl: proxy.url, lookup, timeoutMs: 5_000 });
    t.after(() => sender.close());
    const proxiedBefore = proxy.requests.length;
    const receivedBefore = receiver.requests.length;

    for (const url of [`http://receiver.hookline.test:${receiver.port}/`, `http://127.0.0.1:${receiver.port}/`, `http://2130706433:${receiver.port}/`]) {
      const result = await sender.send({ url, headers: {}, body: Buffer.from('{}') });
      assert.equal(result.kind === 'error' && result.reason, 'blocked', `${url}: ${JSON.stringify(result)}`);
    }
    assert.equal(proxy.requests.length, proxiedBefore);
    assert.equal(receiver.requests.length, receivedBefore);
  });

  test('proxy credentials go in proxy-authorization', async (t) => {
    const withCredentials = new URL(proxy.url);
    withCredentials.username = 'hookline';
    withCredentials.password = 'not-a-real-password';
    const sender = createWebhookSender({ proxyUrl: withCredentials.toString(), allowedCidrs: ['127.0.0.0/8'], lookup });
    t.after(() => sender.close());

    const result = await sender.send({ url: `http://127.0.0.1:${receiver.port}/`, headers: {}, body: Buffer.from('{}') });
    assert.equal(result.kind === 'response' && result.statusCode, 200, JSON.stringify(result));
    const expected = `Basic ${Buffer.from('hookline:not-a-real-password').toString('base64')}`;
    assert.equal(proxy.requests.at(-1)?.proxyAuthorization, expected);
    assert.equal(receiver.requests.at(-1)?.headers['proxy-authorization'], undefined);
  });

  test('endpoint proxy-authorization never reaches the proxy', async (t) => {
    const sender = createWebhookSender({ proxyUrl: proxy.url, allowedCidrs: ['127.0.0.0/8'], lookup });
    t.after(() => sender.close());

    const result = await sender.send({
      url: `http://127.0.0.1:${receiver.port}/`,
      headers: { 'proxy-authorization': 'Basic ZW5kcG9pbnQ6aGVhZGVy', 'x-custom': 'kept' },
      body: Buffer.from('{}'),
    });
    assert.equal(result.kind === 'response' && result.statusCode, 200, JSON.stringify(result));
    assert.equal(proxy.requests.at(-1)?.proxyAuthorization, undefined);
    assert.equal(receiver.requests.at(-1)?.headers['x-custom'], 'kept');
  });

  test('hanging DNS lookup times out through the proxy', async (t) => {
    const never = () => undefined;
    const sender = createWebhookSender({ proxyUrl: proxy.url, allowedCidrs: ['127.0.0.0/8'], lookup: never, timeoutMs: 300 });
    t.after(() => sender.close());
    const proxiedBefore = proxy.requests.length;

    const result = await sender.send({ url: `http://stuck.hookline.test:${receiver.port}/`, headers: {}, body: Buffer.from('{}') });
    assert.equal(result.kind === 'error' && result.reason, 'timeout', JSON.stringify(result));
    assert.equal(proxy.requests.length, proxiedBefore);
  });

  test('Hookline delivers through the proxy', async (t) => {
    const hookline = await startTestHookline({ proxyUrl: proxy.url }, undefined, 'embedded', { lookup });
    t.after(() => hookline.destroy());
    const proxiedBefore = proxy.requests.length;
    const receivedBefore = receiver.requests.length;

    const app = await hookline.request('POST', '/api/v1/app', { name: 'proxied' });
    await hookline.request('POST', `/api/v1/app/${app.body.id}/endpoint`, { url: `http://receiver.hookline.test:${receiver.port}/proxied` });
    const message = await hookline.request('POST', `/api/v1/app/${app.body.id}/msg`, { eventType: 'proxy.used', payload: { n: 1 } });
    assert.equal(message.status, 202);

    await waitFor(() => receiver.requests.length > receivedBefore, 10_000, 'the delivery through the proxy');
    assert.equal(proxy.requests.length, proxiedBefore + 1);
    assert.equal(proxy.requests.at(-1)?.target, `http://127.0.0.1:${receiver.port}/proxied`);
    assert.equal(receiver.requests.at(-1)?.headers['webhook-id'], message.body.id);
    assert.ok(hookline.logs.some((line) => line.msg === 'Deliveries go through an HTTP proxy' && line.proxy === `${proxy.url}/`));
  });
});
