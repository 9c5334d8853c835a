import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { listenCommand } from '../../src/cli/listen.js';
import { receiveCommand } from '../../src/cli/receive.js';
import { sendCommand } from '../../src/cli/send.js';
import { tokenCommand } from '../../src/cli/token.js';
import { verifyCommand } from '../../src/cli/verify.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startTestHookline, testAdminToken, waitFor } from '../helpers/hookline.js';

const tools = [listenCommand, sendCommand, verifyCommand, receiveCommand, tokenCommand];

test('help of each tool describes every option', async () => {
  for (const tool of tools) {
    const result = await runCli([tool.name, '--help']);
    assert.equal(result.code, 0, tool.name);
    assert.equal(result.stdout, `${tool.help}\n`, tool.name);
    for (const option of Object.keys(tool.options)) {
      assert.match(tool.help, new RegExp(`^ +(-\\w, )?--${option}\\b.*\\S`, 'm'), `${tool.name} --help does not describe --${option}`);
    }
  }
  const main = await runCli(['--help']);
  for (const tool of tools) {
    assert.match(main.stdout, new RegExp(`^ +${tool.name} `, 'm'), `hookline --help does not list ${tool.name}`);
  }
});

test('send and token create call the API', async (context) => {
  const hookline = await startTestHookline();
  context.after(() => hookline.destroy());
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Tools', uid: 'tools-app' })).status, 201);
  const folder = mkdtempSync(join(tmpdir(), 'hookline-send-'));
  context.after(() => rmSync(folder, { recursive: true, force: true }));
  const payloadFile = join(folder, 'payload.json');
  writeFileSync(payloadFile, '{"from": "file"}');
  const env = { HOOKLINE_URL: hookline.url, HOOKLINE_TOKEN: testAdminToken };

  const inline = await runCli(['send', 'tools-app', 'trap.set', '--data', '{"n": 1}', '--channels', 'eu,priority', '--event-id', 'evt-1'], env);
  assert.equal(inline.code, 0, inline.stderr);
  const inlineId = inline.stdout.trim();
  const stored = await hookline.request('GET', `/api/v1/app/tools-app/msg/${inlineId}`);
  assert.deepEqual(stored.body.payload, { n: 1 });
  assert.deepEqual(stored.body.channels, ['eu', 'priority']);
  assert.equal(stored.body.eventId, 'evt-1');

  const fromFile = await runCli(['send', 'tools-app', 'trap.diffuse', '--data', `@${payloadFile}`], env);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const fromStdin = await runCli(['send', 'tools-app', 'trap.diffuse', '--data', '@-'], env, '{"from": "stdin"}');
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  const duplicate = await runCli(['send', 'tools-app', 'trap.set', '--data', '{}', '--event-id', 'evt-1'], env);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /failed with 409/);

  const created = await runCli(['token', 'create', '--app', 'tools-app'], env);
  assert.equal(created.code, 0, created.stderr);
  const appToken = created.stdout.trim();
  assert.match(created.stderr, /^Portal: http/);
  const events = await fetch(`${hookline.url}/api/v1/app/tools-app/events`, { headers: { authorization: `Bearer ${appToken}` } });
  assert.equal(events.status, 200);
  const body = (await events.json()) as { data: { payload: unknown }[] };
  assert.deepEqual(
    body.data.map((message) => message.payload),
    [{ n: 1 }, { from: 'file' }, { from: 'stdin' }],
  );

  // An application token cannot create tokens or send.
  const denied = await runCli(['token', 'create', '--app', 'tools-app'], { HOOKLINE_URL: hookline.url, HOOKLINE_TOKEN: appToken });
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /failed with 403/);
  const missingApp = await runCli(['token', 'create'], env);
  assert.equal(missingApp.code, 2);
  assert.match(missingApp.stderr, /Missing --app/);
});

test('receive verifies, prints and answers webhooks', async (context) => {
  const secret = `whsec_${Buffer.from('receive-test-secret-0001').toString('base64')}`;
  const receive = startCli(['receive', '--port', '0', '--secret', secret, '--status', '202']);
  context.after(() => receive.stop());
  await waitFor(() => /Listening on (http:\/\/\S+);/.test(receive.output()), 15_000, 'the receiver to listen');
  const url = /Listening on (http:\/\/\S+);/.exec(receive.output())?.[1] ?? '';

  const body = '{"hello":"world"}';
  const signedAt = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': 'msg_receive_1',
    'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign('msg_receive_1', signedAt, body),
  };
  const good = await fetch(`${url}/hooks`, { method: 'POST', headers, body });
  assert.equal(good.status, 202);
  const changed = await fetch(`${url}/hooks`, { method: 'POST', headers, body: '{"hello": "world"}' });
  assert.equal(changed.status, 401);
  assert.match(await changed.text(), /body changed after it was signed/);

  await waitFor(() => receive.output().includes('FAILED body-changed -> 401'), 10_000, 'the failure line');
  assert.match(receive.output(), /POST \/hooks {2}msg_receive_1 {2}verified -> 202\n\{\n {2}"hello": "world"\n\}/);
  assert.equal(await receive.stop(), 0);
});
