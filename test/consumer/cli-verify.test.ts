import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { runCli } from '../helpers/cli.js';

// Obviously fake secrets of the right shape: 24 bytes each.
const secret = `whsec_${Buffer.from('hookline-verify-test-key!').subarray(0, 24).toString('base64')}`;
const otherSecret = `whsec_${Buffer.from('another-secret-for-tests').subarray(0, 24).toString('base64')}`;
const payload = { type: 'trap.set', timestamp: '2026-01-01T00:00:00Z', data: { trapId: 't1', amount: 1.5 } };
const body = JSON.stringify(payload);
const msgId = 'msg_01jf8x0000000000000000000a';

interface Capture {
  headers: Record<string, string>;
  body: string;
}

/** Signs like a sender does, with the standardwebhooks library, so the CLI is checked against it. */
function capture(options: { signWith?: string; ageSeconds?: number; sentBody?: string } = {}): Capture {
  const signedAt = new Date(Date.now() - (options.ageSeconds ?? 0) * 1000);
  const signature = new Webhook(options.signWith ?? secret).sign(msgId, signedAt, body);
  return {
    headers: {
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
      'webhook-signature': signature,
      'content-type': 'application/json',
    },
    body: options.sentBody ?? body,
  };
}

function writeCapture(folder: string, name: string, request: Capture, format: 'lines' | 'json'): string[] {
  const headersFile = join(folder, `${name}.headers`);
  const bodyFile = join(folder, `${name}.body`);
  const headerText =
    format === 'json'
      ? JSON.stringify(request.headers)
      : `POST /webhooks HTTP/1.1\r\n${Object.entries(request.headers)
          .map(([key, value]) => `${key}: ${value}`)
          .join('\r\n')}\r\n\r\n`;
  writeFileSync(headersFile, headerText);
  writeFileSync(bodyFile, request.body);
  return ['--headers', headersFile, '--body', bodyFile];
}

test('verify accepts a correct request in both header formats', async (context) => {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-verify-'));
  context.after(() => rmSync(folder, { recursive: true, force: true }));

  for (const format of ['lines', 'json'] as const) {
    const result = await runCli(['verify', '--secret', secret, ...writeCapture(folder, `ok-${format}`, capture(), format)]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^OK: the request verifies \(webhook-id msg_01jf8x0000000000000000000a/);
  }
});

test('verify names the failed check for each broken request', async (context) => {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-verify-'));
  context.after(() => rmSync(folder, { recursive: true, force: true }));
  const missingHeader = capture();
  delete missingHeader.headers['webhook-signature'];

  const cases: { name: string; request: Capture; check: string; mentions: RegExp }[] = [
    { name: 'wrong-secret', request: capture({ signWith: otherSecret }), check: 'different-secret', mentions: /endpoint\/\{endpoint_id\}\/secret/ },
    {
      name: 'reserialised',
      request: capture({ sentBody: JSON.stringify(payload, null, 2) }),
      check: 'body-changed',
      mentions: /re-serialised.*\n.*raw request body/s,
    },
    { name: 'old', request: capture({ ageSeconds: 600 }), check: 'timestamp-outside-tolerance', mentions: / 6\d\d s old.*signature matches/s },
    { name: 'missing', request: missingHeader, check: 'missing-header', mentions: /Missing header webhook-signature/ },
    { name: 'newline', request: capture({ sentBody: `${body}\n` }), check: 'body-changed', mentions: /a trailing newline was added/ },
  ];

  for (const { name, request, check, mentions } of cases) {
    const result = await runCli(['verify', '--secret', secret, ...writeCapture(folder, name, request, 'lines')]);
    assert.equal(result.code, 1, `${name}: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, new RegExp(`^FAILED \\(${check}\\)`), name);
    assert.match(result.stdout, mentions, name);
    assert.match(result.stdout, /\nWhat to do: /, name);
  }
});

test('verify reports usage errors with status 2', async (context) => {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-verify-'));
  context.after(() => rmSync(folder, { recursive: true, force: true }));
  const files = writeCapture(folder, 'usage', capture(), 'lines');

  const noSecret = await runCli(['verify', ...files]);
  assert.equal(noSecret.code, 2);
  assert.match(noSecret.stderr, /Missing --secret/);
  const badSecret = await runCli(['verify', '--secret', 'whsec_short', ...files]);
  assert.equal(badSecret.code, 2);
  assert.match(badSecret.stderr, /Invalid signing secret/);
  const noFile = await runCli(['verify', '--secret', secret, '--headers', join(folder, 'absent'), '--body', join(folder, 'absent')]);
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /Could not read --headers file/);
});

/** Generates an ed25519 key pair with node:crypto and returns the public key as a whpk_ string. */
function ed25519Keys(): { publicKey: string; signV1a: (content: string) => string } {
  const pair = generateKeyPairSync('ed25519');
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  return {
    publicKey: `whpk_${spki.subarray(spki.length - 32).toString('base64')}`,
    signV1a: (content) => `v1a,${signBytes(null, Buffer.from(content), pair.privateKey).toString('base64')}`,
  };
}

test('verify checks v1a signatures with a whpk_ public key', async (context) => {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-verify-'));
  context.after(() => rmSync(folder, { recursive: true, force: true }));
  const keys = ed25519Keys();
  const other = ed25519Keys();
  const seconds = Math.floor(Date.now() / 1000);
  const request: Capture = {
    headers: { 'webhook-id': msgId, 'webhook-timestamp': String(seconds), 'webhook-signature': keys.signV1a(`${msgId}.${seconds}.${body}`) },
    body,
  };

  const accepted = await runCli(['verify', '--secret', keys.publicKey, ...writeCapture(folder, 'ed25519', request, 'json')]);
  assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
  assert.match(accepted.stdout, /^OK: the request verifies/);

  const otherKey = await runCli(['verify', '--secret', other.publicKey, ...writeCapture(folder, 'ed25519-other', request, 'json')]);
  assert.equal(otherKey.code, 1);
  assert.match(otherKey.stdout, /^FAILED \(different-secret\)/);

  const changed = await runCli(['verify', '--secret', keys.publicKey, ...writeCapture(folder, 'ed25519-changed', { ...request, body: `${body}\n` }, 'json')]);
  assert.equal(changed.code, 1);
  assert.match(changed.stdout, /^FAILED \(body-changed\).*trailing newline/s);

  const badKey = await runCli(['verify', '--secret', 'whpk_AAAA', ...writeCapture(folder, 'ed25519-bad', request, 'json')]);
  assert.equal(badKey.code, 2);
  assert.match(badKey.stderr, /Invalid --secret: Invalid ed25519 public key/);
});
