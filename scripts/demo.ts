// Shows Hookline end to end on this machine: starts `hookline start` on a temporary data
// folder and a local receiver, subscribes the receiver through the workshop API, sets
// and diffuses traps, and prints how each webhook was delivered.
// Usage: npm run demo. Exits 0 only if every webhook was delivered and every signature
// verified. Everything it starts listens on 127.0.0.1 and is stopped before it exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

const cliPath = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const accountId = 'demo-account';
const trapCount = 3;
/** Maximum time the demo waits for Hookline to start, and for all webhooks to arrive. */
const startTimeoutMs = 10_000;
const deliveryTimeoutMs = 12_000;

interface Subscription {
  id: string;
  eventType: string;
  path: string;
  webhook: Webhook;
}

/** One request as the receiver saw it. */
interface ReceivedWebhook {
  msgId: string;
  path: string;
  statusCode: number;
  verified: boolean;
}

interface SentMessage {
  msgId: string;
  eventType: string;
  subscription: Subscription;
}

/** A row of the summary table. */
interface Row {
  eventType: string;
  msgId: string;
  subscriptionId: string;
  attempts: number;
  status: string;
  signatures: string;
}

/** Polls `condition` every 50 ms until it returns true, or throws after `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
}

/**
 * Starts the receiver. Each subscription has its own path and secret, registered in
 * `subscriptions` once the workshop API returns it. The first request of the first
 * trap.diffuse message gets a 503, so the table shows a retry.
 */
async function startReceiver(subscriptions: Map<string, Subscription>, received: ReceivedWebhook[]): Promise<{ server: Server; url: string }> {
  let failedMsgId: string | undefined;

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      const msgId = String(request.headers['webhook-id'] ?? '');
      const subscription = subscriptions.get(path);
      let verified = false;
      if (subscription) {
        try {
          subscription.webhook.verify(Buffer.concat(chunks).toString('utf8'), {
            'webhook-id': msgId,
            'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
            'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
          });
          verified = true;
        } catch {
          verified = false;
        }
      }

      let statusCode = verified ? 204 : 401;
      if (verified && subscription?.eventType === 'trap.diffuse' && (failedMsgId === undefined || failedMsgId === msgId)) {
        const firstTime = failedMsgId === undefined;
        failedMsgId = msgId;
        statusCode = firstTime ? 503 : 204;
      }
      received.push({ msgId, path, statusCode, verified });
      response.writeHead(statusCode).end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Spawns `hookline start` and resolves with its URL from the "listening" log line. */
async function startHookline(dataDir: string, adminToken: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cliPath, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOOKLINE_HOST: '127.0.0.1',
      HOOKLINE_PORT: '0',
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_ADMIN_TOKEN: adminToken,
      HOOKLINE_ALLOW_LOOPBACK: 'true',
      HOOKLINE_RETRY_SCHEDULE: '1s,2s',
      HOOKLINE_QUEUE_POLL_INTERVAL: '200ms',
      HOOKLINE_SHUTDOWN_TIMEOUT: '3s',
      HOOKLINE_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => stderr.push(chunk));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Hookline did not start within ${startTimeoutMs} ms.`)), startTimeoutMs);
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        let entry: { msg?: unknown; url?: unknown };
        try {
          entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        } catch {
          continue;
        }
        if (typeof entry.url === 'string' && String(entry.msg).includes('listening on')) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Hookline exited during start-up (code ${code}, signal ${signal}): ${stderr.join('').trim()}`));
    });
  });
  return { child, url };
}

/** Sends SIGTERM to Hookline and waits for it to exit, sending SIGKILL after 5 s. */
async function stopHookline(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function createApi(url: string, adminToken: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path} failed with ${response.status}: ${text}`);
    }
    return JSON.parse(text === '' ? 'null' : text) as T;
  };
}

function printTable(rows: Row[]): void {
  const headers: Row = {
    eventType: 'event type',
    msgId: 'message',
    subscriptionId: 'subscription',
    attempts: 0,
    status: 'status',
    signatures: 'signatures verified',
  };
  const cells = (row: Row, attempts: string) => [row.eventType, row.msgId, row.subscriptionId, attempts, row.status, row.signatures];
  const lines = [cells(headers, 'attempts'), ...rows.map((row) => cells(row, String(row.attempts)))];
  const widths = lines[0]!.map((_cell, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const format = (line: string[]) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();

  console.log(format(lines[0]!));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines.slice(1)) {
    console.log(format(line));
  }
}

async function runDemo(dataDir: string, adminToken: string, cleanups: (() => Promise<void>)[]): Promise<boolean> {
  const subscriptions = new Map<string, Subscription>();
  const received: ReceivedWebhook[] = [];
  const receiver = await startReceiver(subscriptions, received);
  cleanups.push(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));
  console.log(`Receiver listening on ${receiver.url}`);

  const hookline = await startHookline(dataDir, adminToken);
  cleanups.push(() => stopHookline(hookline.child));
  console.log(`Hookline (pid ${hookline.child.pid}) listening on ${hookline.url}, data in ${dataDir}`);
  const api = createApi(hookline.url, adminToken);

  // 1. Subscribe one receiver path to each workshop event, with the secret each returns.
  for (const [eventId, eventType] of [
    [1, 'trap.set'],
    [2, 'trap.diffuse'],
  ] as const) {
    const path = `/hooks/${eventType}`;
    const added = await api<{ subscriptionId: string; secret: string }>('POST', '/api/event_subscriptions/add', { accountId, eventId, endpoint: `${receiver.url}${path}` });
    subscriptions.set(path, { id: added.subscriptionId, eventType, path, webhook: new Webhook(added.secret) });
    console.log(`Subscribed ${path} to ${eventType} as ${added.subscriptionId}`);
  }
  const byEventType = new Map([...subscriptions.values()].map((subscription) => [subscription.eventType, subscription]));

  // 2. Set traps and diffuse them. Each call sends one message.
  const sent: SentMessage[] = [];
  for (let index = 0; index < trapCount; index += 1) {
    const trap = await api<{ id: string; msgId: string }>('POST', `/api/trap/set?accountId=${accountId}`);
    sent.push({ msgId: trap.msgId, eventType: 'trap.set', subscription: byEventType.get('trap.set')! });
    const diffused = await api<{ msgId: string }>('POST', `/api/trap/diffuse?id=${encodeURIComponent(trap.id)}`);
    sent.push({ msgId: diffused.msgId, eventType: 'trap.diffuse', subscription: byEventType.get('trap.diffuse')! });
  }
  console.log(`Set and diffused ${trapCount} traps. Waiting for ${sent.length} webhooks, one of them retried after a 503.`);

  // 3. Wait until Hookline reports every delivery as finished, then read the attempts.
  const deliveryStatus = new Map<string, string>();
  const readStatuses = async (): Promise<boolean> => {
    for (const subscription of subscriptions.values()) {
      const page = await api<{ data: { id: string; statusText: string }[] }>(
        'GET',
        `/api/v1/app/${accountId}/endpoint/${subscription.id}/msg?limit=250`,
      );
      for (const item of page.data) {
        deliveryStatus.set(`${item.id} ${subscription.id}`, item.statusText);
      }
    }
    return sent.every((message) => {
      const status = deliveryStatus.get(`${message.msgId} ${message.subscription.id}`);
      return status === 'success' || status === 'fail';
    });
  };
  try {
    await waitFor(readStatuses, deliveryTimeoutMs, 'every delivery to finish');
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
  }

  const attemptsByPair = new Map<string, number>();
  for (const subscription of subscriptions.values()) {
    const page = await api<{ data: { msgId: string }[] }>('GET', `/api/v1/app/${accountId}/attempt/endpoint/${subscription.id}?limit=250`);
    for (const attempt of page.data) {
      const key = `${attempt.msgId} ${subscription.id}`;
      attemptsByPair.set(key, (attemptsByPair.get(key) ?? 0) + 1);
    }
  }

  // 4. Print one row per message and decide the exit code.
  const rows: Row[] = sent.map((message) => {
    const key = `${message.msgId} ${message.subscription.id}`;
    const requests = received.filter((request) => request.msgId === message.msgId && request.path === message.subscription.path);
    const verified = requests.filter((request) => request.verified).length;
    return {
      eventType: message.eventType,
      msgId: message.msgId,
      subscriptionId: message.subscription.id,
      attempts: attemptsByPair.get(key) ?? 0,
      status: deliveryStatus.get(key) ?? 'unknown',
      signatures: `${verified}/${requests.length}`,
    };
  });
  console.log('');
  printTable(rows);
  console.log('');

  const problems: string[] = [];
  const undelivered = rows.filter((row) => row.status !== 'success');
  if (undelivered.length > 0) {
    problems.push(`${undelivered.length} of ${rows.length} messages were not delivered`);
  }
  const unverified = received.filter((request) => !request.verified);
  if (unverified.length > 0) {
    problems.push(`${unverified.length} of ${received.length} requests failed signature verification`);
  }
  if (!rows.some((row) => row.attempts > 1)) {
    problems.push('no message needed a retry, although the receiver responded 503 to one request');
  }
  if (problems.length > 0) {
    console.log(`Demo failed: ${problems.join('; ')}.`);
    return false;
  }
  console.log(`All ${rows.length} messages delivered, ${received.length} requests received, every signature verified.`);
  return true;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-demo-'));
  const adminToken = `demo_${randomBytes(24).toString('base64url')}`;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse().splice(0)) {
      await cleanup();
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    void cleanUp().finally(() => process.exit(130));
  });

  let passed = false;
  try {
    passed = await runDemo(dataDir, adminToken, cleanups);
  } catch (error) {
    console.error(`Demo failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await cleanUp();
  }
  process.exitCode = passed ? 0 : 1;
}

await main();
