import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import express from 'express';
import { Webhook } from 'standardwebhooks';
import { startCli } from '../helpers/cli.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';

interface Received {
  id: string;
  payload: { index: number };
}

/** Starts an Express receiver that verifies each request with the standardwebhooks library, as the docs show. */
async function startReceiver(secret: () => string): Promise<{ url: string; received: Received[]; rejected: string[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const rejected: string[] = [];
  const app = express();
  app.post('/webhooks', express.raw({ type: 'application/json' }), (request, response) => {
    try {
      const payload = new Webhook(secret()).verify(request.body as Buffer, request.headers as Record<string, string>) as Received['payload'];
      received.push({ id: String(request.headers['webhook-id']), payload });
      response.status(204).end();
    } catch (error) {
      rejected.push(error instanceof Error ? error.message : String(error));
      response.status(400).end();
    }
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    rejected,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function send(hookline: TestHookline, index: number): Promise<string> {
  const sent = await hookline.request('POST', '/api/v1/app/listen-app/msg', { eventType: 'trap.set', payload: { index } });
  assert.equal(sent.status, 202);
  return sent.body.id as string;
}

test('listen forwards every message across a Hookline restart', { timeout: 120_000 }, async (context) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-listen-'));
  context.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let hookline = await startTestHookline({ dataDir });
  const port = Number(new URL(hookline.url).port);
  context.after(() => hookline.destroy());
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Listen', uid: 'listen-app' })).status, 201);
  const access = await hookline.request('POST', '/api/v1/auth/app-portal-access/listen-app', {});
  const appToken = access.body.token as string;

  let secret = '';
  const receiver = await startReceiver(() => secret);
  context.after(() => receiver.close());

  const listen = startCli(['listen', 'listen-app', '--forward-to', receiver.url, '--url', hookline.url, '--idle-timeout', '5'], {
    HOOKLINE_TOKEN: appToken,
  });
  context.after(() => listen.stop());
  await waitFor(() => /Signing secret: (whsec_\S+)/.test(listen.output()), 15_000, 'the signing secret');
  secret = /Signing secret: (whsec_\S+)/.exec(listen.output())?.[1] ?? '';
  await waitFor(() => listen.output().includes('Connected'), 15_000, 'listen to connect');

  const sent: string[] = [];
  for (let index = 0; index < 5; index += 1) {
    sent.push(await send(hookline, index));
  }
  await waitFor(() => receiver.received.length === 5, 15_000, 'five forwarded messages');

  // Restart on the same port and data folder. Messages accepted before listen reconnects
  // are delivered after it resumes from its last position.
  await hookline.close();
  hookline = await startTestHookline({ dataDir, port });
  for (let index = 5; index < 10; index += 1) {
    sent.push(await send(hookline, index));
  }
  await waitFor(() => receiver.received.length === 10, 30_000, 'the messages sent after the restart');
  await waitFor(() => listen.output().includes('Connected; resuming after'), 15_000, 'listen to resume');
  for (let index = 10; index < 15; index += 1) {
    sent.push(await send(hookline, index));
  }
  await waitFor(() => receiver.received.length === 15, 30_000, 'every message');

  assert.deepEqual(receiver.rejected, []);
  assert.deepEqual(
    receiver.received.map((item) => item.id),
    sent,
  );
  assert.deepEqual(
    receiver.received.map((item) => item.payload.index),
    Array.from({ length: 15 }, (_, index) => index),
  );
  // listen prints a delivery's line once the receiver's response has arrived.
  const deliveryLines = () => listen.output().split('\n').filter((line) => line.includes('-> 204 in'));
  await waitFor(() => deliveryLines().length === 15, 15_000, 'a line per delivery');
  assert.match(deliveryLines()[0] ?? '', /^\S+Z {2}trap\.set {2}msg_\w+ {2}-> 204 in \d+ ms$/);
  assert.match(listen.output(), /Connection lost|The server closed the stream/);

  assert.equal(await listen.stop(), 0);
  assert.match(listen.output(), /Stopped; continue later with --iterator \S+/);
});

test('listen stops with the API error for a token of another application', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'A', uid: 'listen-a' })).status, 201);
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'B', uid: 'listen-b' })).status, 201);
  const access = await hookline.request('POST', '/api/v1/auth/app-portal-access/listen-a', {});

  const listen = startCli(['listen', 'listen-b', '--forward-to', 'http://127.0.0.1:9/none', '--url', hookline.url, '--token', access.body.token]);
  const code = await new Promise<number | null>((resolve) => listen.child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(listen.output(), /returned 403: This token belongs to another application/);

  const admin = startCli(['listen', 'listen-b', '--forward-to', 'not a url', '--url', hookline.url, '--token', testAdminToken]);
  assert.equal(await new Promise<number | null>((resolve) => admin.child.once('exit', resolve)), 2);
  assert.match(admin.output(), /Invalid --forward-to "not a url"/);
});
