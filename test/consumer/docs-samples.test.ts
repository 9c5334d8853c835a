import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { replaceRouteTables, readHooklineOperations, readSvixClientRoutes, renderRouteTables, svixClientsDocPath } from '../../scripts/routes-docs.js';
import { startNode, type CliProcess } from '../helpers/cli.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';

// Runs every JavaScript sample of the consumer docs against a real Hookline, so the docs
// cannot drift from what works. Each sample is preceded by `<!-- sample: NAME -->`.

const repository = fileURLToPath(new URL('../../', import.meta.url));
const docs = ['receiving-webhooks.md', 'pull-api.md', 'svix-clients.md'].map((name) => join(repository, 'docs', name));

function readSamples(): Map<string, string> {
  const samples = new Map<string, string>();
  for (const file of docs) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/<!-- sample: ([\w-]+) -->\n```js\n([\s\S]*?)\n```/g)) {
      samples.set(match[1] ?? '', `${match[2]}\n`);
    }
  }
  return samples;
}

const samples = readSamples();
let hookline: TestHookline;
let folder: string;

before(async () => {
  hookline = await startTestHookline();
  // Inside the repository, so that the samples resolve packages from its node_modules.
  mkdirSync(join(repository, '.tmp'), { recursive: true });
  folder = mkdtempSync(join(repository, '.tmp', 'docs-samples-'));
});

after(async () => {
  await hookline.destroy();
  rmSync(folder, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function writeSample(name: string): string {
  const code = samples.get(name);
  assert.ok(code, `no sample named ${name} in the docs`);
  const file = join(folder, `${name}.mjs`);
  writeFileSync(file, code);
  return file;
}

/** Runs a file with node and the given environment, as a reader of the docs would. */
function runNode(file: string, env: Record<string, string>, cwd = folder): CliProcess {
  return startNode([file], env, cwd);
}

async function waitForPort(port: number, process: CliProcess): Promise<void> {
  await waitFor(
    async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        return true;
      } catch {
        return false;
      }
    },
    15_000,
    `the sample to listen on ${port}: ${process.output()}`,
  );
}

async function createEndpoint(app: string, url: string, secret: string): Promise<string> {
  const created = await hookline.request('POST', '/api/v1/app', { name: app, uid: app });
  assert.equal(created.status, 201);
  const endpoint = await hookline.request('POST', `/api/v1/app/${app}/endpoint`, { url, secret });
  assert.equal(endpoint.status, 201);
  return endpoint.body.id as string;
}

async function sendMessage(app: string, payload: Record<string, unknown>): Promise<string> {
  const sent = await hookline.request('POST', `/api/v1/app/${app}/msg`, { eventType: 'invoice.paid', payload });
  assert.equal(sent.status, 202);
  return sent.body.id as string;
}

/** Checks a receiver sample: a Hookline delivery is verified and handled, a forged request is rejected. */
async function checkReceiver(name: string, file: string, extraEnv: Record<string, string> = {}): Promise<{ app: string; endpointId: string; msgId: string; receiver: CliProcess }> {
  const port = await freePort();
  const secret = `whsec_${Buffer.from(`docs-sample-${name}`.padEnd(24, '-').slice(0, 24)).toString('base64')}`;
  const receiver = runNode(file, { PORT: String(port), WEBHOOK_SECRET: secret, ...extraEnv });
  await waitForPort(port, receiver);

  const app = `docs-${name}`;
  const endpointId = await createEndpoint(app, `http://127.0.0.1:${port}/webhooks`, secret);
  const msgId = await sendMessage(app, { invoiceId: 'inv_1' });
  await waitFor(() => receiver.output().includes(`Received ${msgId}: {"invoiceId":"inv_1"}`), 15_000, `${name} to receive ${msgId}: ${receiver.output()}`);

  const forgedBody = '{"invoiceId":"inv_forged"}';
  const signedAt = new Date();
  const forged = await fetch(`http://127.0.0.1:${port}/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': 'msg_forged',
      'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
      'webhook-signature': new Webhook(`whsec_${Buffer.from('a-different-secret-24-by').toString('base64')}`).sign('msg_forged', signedAt, forgedBody),
    },
    body: forgedBody,
  });
  assert.equal(forged.status, 400);
  assert.ok(!receiver.output().includes('inv_forged'));
  return { app, endpointId, msgId, receiver };
}

test('every JavaScript block of the consumer docs is a tested sample', () => {
  for (const file of docs) {
    const text = readFileSync(file, 'utf8');
    const blocks = [...text.matchAll(/(.*)\n```(js|javascript|ts|typescript|mjs)\n/g)];
    for (const block of blocks) {
      assert.match(block[1] ?? '', /^<!-- sample: [\w-]+ -->$/, `${file}: a ${block[2]} block has no sample marker`);
    }
  }
  assert.deepEqual([...samples.keys()].sort(), [
    'express-receiver',
    'fastify-receiver',
    'nextjs-route',
    'pull-event-stream',
    'pull-long-poll',
    'svix-node',
  ]);
});

test('express receiver sample verifies and skips repeats', async (context) => {
  const { app, endpointId, msgId, receiver } = await checkReceiver('express-receiver', writeSample('express-receiver'));
  context.after(() => receiver.stop());

  const resent = await hookline.request('POST', `/api/v1/app/${app}/msg/${msgId}/endpoint/${endpointId}/resend`);
  assert.equal(resent.status, 202);
  await waitFor(() => receiver.output().includes(`Skipped ${msgId}: already handled`), 15_000, 'the repeat to be skipped');
  assert.equal(receiver.output().split(`Received ${msgId}`).length - 1, 1);
});

test('fastify receiver sample verifies the raw body', async (context) => {
  const { receiver } = await checkReceiver('fastify-receiver', writeSample('fastify-receiver'));
  context.after(() => receiver.stop());
});

test('nextjs route sample verifies the raw body', async (context) => {
  // A minimal stand-in for Next.js: it turns each request into a web Request and calls the route's POST.
  const route = writeSample('nextjs-route');
  const server = join(folder, 'nextjs-server.mjs');
  writeFileSync(
    server,
    `import { createServer } from 'node:http';
const { POST } = await import(${JSON.stringify(route)});
createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const headers = Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name));
  const request = new Request('http://127.0.0.1' + req.url, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
  const response = req.method === 'POST' ? await POST(request) : new Response(null, { status: 404 });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
  );
  const { receiver } = await checkReceiver('nextjs-route', server);
  context.after(() => receiver.stop());
});

test('svix client sample runs against Hookline', async () => {
  const sample = runNode(writeSample('svix-node'), {
    HOOKLINE_URL: hookline.url,
    HOOKLINE_TOKEN: testAdminToken,
    ENDPOINT_URL: 'http://127.0.0.1:9/svix-sample',
  });
  const code = await new Promise<number | null>((resolve) => sample.child.once('exit', resolve));
  assert.equal(code, 0, sample.output());
  assert.match(sample.output(), /^Endpoint ep_\w+ signs with a secret of \d+ characters\nSent msg_\w+\n$/);
  const endpoints = await hookline.request('GET', '/api/v1/app/acme/endpoint');
  assert.equal(endpoints.body.data[0].url, 'http://127.0.0.1:9/svix-sample');
});

test('long poll sample resumes from its saved iterator', async (context) => {
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Pull', uid: 'docs-pull' })).status, 201);
  const access = await hookline.request('POST', '/api/v1/auth/app-portal-access/docs-pull', {});
  const env = { HOOKLINE_URL: hookline.url, HOOKLINE_TOKEN: access.body.token as string, APP: 'docs-pull' };
  const cwd = mkdtempSync(join(folder, 'poll-'));
  const file = writeSample('pull-long-poll');
  const first = await sendMessage('docs-pull', { n: 1 });
  const second = await sendMessage('docs-pull', { n: 2 });

  const run = runNode(file, env, cwd);
  context.after(() => run.stop());
  await waitFor(() => run.output().includes(`invoice.paid ${second} {"n":2}`), 15_000, `both messages: ${run.output()}`);
  assert.ok(run.output().startsWith(`invoice.paid ${first} {"n":1}\n`));
  const third = await sendMessage('docs-pull', { n: 3 });
  await waitFor(() => run.output().includes(`invoice.paid ${third} {"n":3}`), 15_000, 'the message sent while it waits');
  await run.stop();

  const fourth = await sendMessage('docs-pull', { n: 4 });
  const rerun = runNode(file, env, cwd);
  context.after(() => rerun.stop());
  await waitFor(() => rerun.output().includes(`invoice.paid ${fourth} {"n":4}`), 15_000, `the new message: ${rerun.output()}`);
  // The first run may have stopped before it saved the iterator after the third message,
  // so the rerun may read that message again, but nothing older.
  const expected = [`invoice.paid ${fourth} {"n":4}\n`, `invoice.paid ${third} {"n":3}\ninvoice.paid ${fourth} {"n":4}\n`];
  assert.ok(expected.includes(rerun.output()), rerun.output());
});

test('event stream sample prints new messages', async (context) => {
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Stream', uid: 'docs-stream' })).status, 201);
  const before = await sendMessage('docs-stream', { n: 0 });
  const run = runNode(writeSample('pull-event-stream'), { HOOKLINE_URL: hookline.url, HOOKLINE_TOKEN: testAdminToken, APP: 'docs-stream' });
  context.after(() => run.stop());
  await waitFor(() => hookline.logs.some((line) => line.msg === 'Event stream opened'), 15_000, 'the stream to open');

  const sent = [await sendMessage('docs-stream', { n: 1 }), await sendMessage('docs-stream', { n: 2 })];
  await waitFor(() => run.output().includes(sent[1] ?? 'missing'), 15_000, `both messages: ${run.output()}`);
  assert.equal(run.output(), `invoice.paid ${sent[0]} {"n":1}\ninvoice.paid ${sent[1]} {"n":2}\n`);
  assert.ok(!run.output().includes(before));
});

test('svix-clients.md lists the routes of the route table', async () => {
  const page = readFileSync(svixClientsDocPath, 'utf8');
  const expected = replaceRouteTables(page, renderRouteTables(await readHooklineOperations(), readSvixClientRoutes()));
  assert.equal(page, expected, 'docs/svix-clients.md is out of date: run `npm run docs:routes`');
  assert.match(page, /\| GET \| `\/api\/v1\/app\/\{app_id\}\/events` \|/);
});
