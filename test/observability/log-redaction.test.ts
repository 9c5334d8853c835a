import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startReceiver } from '../delivery/receiver.js';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';
import { spawnHookline, stopHookline } from '../helpers/hookline-process.js';
import { createLogger, flushLogger } from '../../src/observability/logger.js';
import { Writable } from 'node:stream';

const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** Creates a signing secret for this test: `whsec_` and base64 of 32 random bytes. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Drives every path that handles a secret or a token: endpoints created and rotated with
 * chosen secrets, the secret read back, an application token created and used, requests
 * with wrong tokens, and deliveries that succeed and fail. Returns every secret and token used.
 */
async function exerciseSecrets(hookline: { request: TestHookline['request']; url: string }, receiverPort: number): Promise<string[]> {
  const first = newSecret();
  const rotated = newSecret();
  assert.equal((await hookline.request('POST', '/api/v1/app', { name: 'Secrets', uid: 'secrets' })).status, 201);
  const endpoint = await hookline.request('POST', '/api/v1/app/secrets/endpoint', { url: `http://127.0.0.1:${receiverPort}/ok`, secret: first });
  assert.equal(endpoint.status, 201);
  const failing = await hookline.request('POST', '/api/v1/app/secrets/endpoint', { url: `http://127.0.0.1:${receiverPort}/fail`, secret: newSecret() });
  assert.equal(failing.status, 201);
  assert.equal((await hookline.request('GET', `/api/v1/app/secrets/endpoint/${endpoint.body.id}/secret`)).body.key, first);
  assert.equal((await hookline.request('POST', `/api/v1/app/secrets/endpoint/${endpoint.body.id}/secret/rotate`, { key: rotated })).status, 204);
  const failingSecret = (await hookline.request('GET', `/api/v1/app/secrets/endpoint/${failing.body.id}/secret`)).body.key as string;

  const access = await hookline.request('POST', '/api/v1/auth/app-portal-access/secrets', {});
  assert.equal(access.status, 200);
  const appToken = access.body.token as string;
  const withAppToken = await fetch(`${hookline.url}/api/v1/app/secrets/endpoint`, { headers: { authorization: `Bearer ${appToken}` } });
  assert.equal(withAppToken.status, 200);
  const forbidden = await fetch(`${hookline.url}/api/v1/app`, { headers: { authorization: `Bearer ${appToken}` } });
  assert.equal(forbidden.status, 403);
  const wrongToken = `wrong-${randomBytes(16).toString('hex')}`;
  const unauthorized = await fetch(`${hookline.url}/api/v1/app`, { headers: { authorization: `Bearer ${wrongToken}` } });
  assert.equal(unauthorized.status, 401);

  const message = await hookline.request('POST', '/api/v1/app/secrets/msg', { eventType: 'trap.set', payload: { secret: 'payload-field' } });
  assert.equal(message.status, 202);
  await waitFor(
    async () => (await hookline.request('GET', `/api/v1/app/secrets/msg/${message.body.id}/attempt`)).body.data?.length >= 2,
    15_000,
    'both attempts recorded',
  );
  return [testAdminToken, first, rotated, failingSecret, appToken, wrongToken];
}

/** Asserts that no line contains a secret or a token, nor the base64 part of a signing secret. */
function assertNoSecrets(lines: string[], secrets: string[], where: string): void {
  for (const secret of secrets) {
    const forms = secret.startsWith('whsec_') ? [secret, secret.slice('whsec_'.length)] : [secret];
    for (const form of forms) {
      const leaking = lines.filter((line) => line.includes(form));
      assert.deepEqual(leaking, [], `${where}: lines containing ${form.slice(0, 10)}…`);
    }
  }
}

for (const level of levels) {
  test(`logs at ${level} contain no secret or token`, { timeout: 60_000 }, async (context) => {
    const receiver = await startReceiver((request, response) => {
      response.writeHead(request.url === '/fail' ? 500 : 200);
      response.end();
    });
    const hookline = await startTestHookline({ logLevel: level, retrySchedule: [] });
    context.after(async () => {
      await hookline.destroy();
      await receiver.close();
    });

    const secrets = await exerciseSecrets(hookline, receiver.port);
    const lines = hookline.logs.map((line) => JSON.stringify(line));
    assertNoSecrets(lines, secrets, `level ${level}`);
    if (level === 'info' || level === 'debug' || level === 'trace') {
      assert.ok(
        hookline.logs.some((line) => line.msg === 'Attempt finished'),
        'the attempt summary lines are among the lines checked',
      );
    }
  });
}

test('log file receives JSON lines without secrets', { timeout: 60_000 }, async (context) => {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-logs-'));
  const receiver = await startReceiver((request, response) => {
    response.writeHead(request.url === '/fail' ? 500 : 200);
    response.end();
  });
  const logFile = join(folder, 'logs', 'hookline.log');
  const hookline = await spawnHookline({
    HOOKLINE_DATA_DIR: join(folder, 'data'),
    HOOKLINE_LOG_LEVEL: 'trace',
    HOOKLINE_LOG_FILE: logFile,
    HOOKLINE_LOG_FORMAT: 'json',
    HOOKLINE_RETRY_SCHEDULE: '100ms',
  });
  context.after(async () => {
    await stopHookline(hookline, 'SIGKILL').catch(() => undefined);
    await receiver.close();
    rmSync(folder, { recursive: true, force: true });
  });

  const secrets = await exerciseSecrets(hookline, receiver.port);
  const exit = await stopHookline(hookline, 'SIGTERM', 15_000);
  assert.equal(exit.code, 0);

  const fileLines = readFileSync(logFile, 'utf8').split('\n').filter((line) => line !== '');
  const parsed = fileLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.ok(parsed.some((line) => line.msg === 'Attempt finished' && typeof line.attemptId === 'string' && typeof line.msgId === 'string'));
  assert.equal(parsed.at(-1)?.msg, 'Shutdown complete', 'the last line is written before exit');
  assertNoSecrets(fileLines, secrets, 'log file');
  assertNoSecrets(
    hookline.logs.map((line) => JSON.stringify(line)),
    secrets,
    'stdout',
  );
});

test('pretty format writes readable lines and redacts', () => {
  const written: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk.toString('utf8'));
      callback();
    },
  });
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const logger = createLogger({ level: 'info', format: 'pretty', destination });
  logger.info({ appId: 'app_1', token, headers: { authorization: `Bearer ${token}` } }, 'Pretty line');
  flushLogger(logger);

  const text = written.join('');
  assert.match(text, /INFO.*Pretty line/);
  assert.match(text, /appId: "app_1"/);
  assert.ok(!text.includes(token), 'the token is redacted');
  assert.throws(() => JSON.parse(text.split('\n')[0] ?? ''), 'pretty lines are not JSON');
});
