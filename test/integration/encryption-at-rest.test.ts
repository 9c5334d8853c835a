import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { answer, startReceiver, type ReceivedRequest } from '../delivery/receiver.js';
import { startTestHookline, waitFor, type TestHookline } from '../helpers/hookline.js';
import { redisUnavailable } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';

// Runs the compiled CLI, as users do; `npm test` builds dist/ before the tests.
const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Written {
  /** Texts that must not appear anywhere in the database. */
  secrets: string[];
}

/**
 * Creates endpoints with known secrets through the API (an HMAC secret rotated once and an
 * ed25519 key) and checks that a delivery verifies with the current secret, which shows the
 * encrypted secrets still sign correctly.
 */
async function writeSecrets(hookline: TestHookline): Promise<Written> {
  const receiver = await startReceiver(answer(204));
  try {
    const first = `whsec_${randomBytes(24).toString('base64')}`;
    const second = `whsec_${randomBytes(32).toString('base64')}`;
    const seed = randomBytes(32).toString('base64');
    const app = await hookline.request('POST', '/api/v1/app', { name: 'Encrypted', uid: 'encrypted' });
    assert.equal(app.status, 201);
    const endpoint = await hookline.request('POST', '/api/v1/app/encrypted/endpoint', {
      url: `http://127.0.0.1:${receiver.port}/hook`,
      secret: first,
    });
    assert.equal(endpoint.status, 201);
    const rotated = await hookline.request('POST', `/api/v1/app/encrypted/endpoint/${endpoint.body.id}/secret/rotate`, { key: second });
    assert.equal(rotated.status, 204);
    const edEndpoint = await hookline.request('POST', '/api/v1/app/encrypted/endpoint', {
      url: `http://127.0.0.1:${receiver.port}/ed`,
      secret: `whsk_${seed}`,
    });
    assert.equal(edEndpoint.status, 201);

    const message = await hookline.request('POST', '/api/v1/app/encrypted/msg', { eventType: 'secret.stored', payload: { n: 1 } });
    assert.equal(message.status, 202);
    let received: ReceivedRequest | undefined;
    await waitFor(() => {
      received = receiver.requests.find((request) => request.url === '/hook');
      return received !== undefined;
    });
    const delivered = received as ReceivedRequest;
    const headers = {
      'webhook-id': String(delivered.headers['webhook-id']),
      'webhook-timestamp': String(delivered.headers['webhook-timestamp']),
      'webhook-signature': String(delivered.headers['webhook-signature']),
    };
    assert.deepEqual(new StandardWebhook(second).verify(delivered.body, headers), { n: 1 });
    assert.deepEqual(new StandardWebhook(first).verify(delivered.body, headers), { n: 1 });

    // The workshop API returns the new subscription's secret, and the idempotency store
    // keeps that response for replays.
    const subscription = await hookline.request(
      'POST',
      '/api/event_subscriptions/add',
      { accountId: 'encrypted-account', eventId: 1, endpoint: `http://127.0.0.1:${receiver.port}/workshop` },
      { 'idempotency-key': 'encrypted-subscription' },
    );
    assert.equal(subscription.status, 201, JSON.stringify(subscription.body));
    assert.match(subscription.body.secret, /^whsec_/);

    return { secrets: [first.slice('whsec_'.length), second.slice('whsec_'.length), seed, subscription.body.secret.slice('whsec_'.length)] };
  } finally {
    await receiver.close();
  }
}

/** Fails when any cell of any row, as text, contains one of the secrets. */
function assertNoSecretIn(tables: Record<string, unknown[]>, written: Written): void {
  assert.ok((tables.endpoint_secret ?? []).length >= 4, 'the secret table was not read');
  assert.ok((tables.idempotency_key ?? []).length >= 1, 'the idempotency table was not read');
  for (const [table, rows] of Object.entries(tables)) {
    for (const row of rows) {
      for (const [column, value] of Object.entries(row as Record<string, unknown>)) {
        const text = Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
        for (const secret of written.secrets) {
          assert.ok(!text.includes(secret), `${table}.${column} contains a signing secret`);
        }
      }
    }
  }
}

function startCli(dataDir: string, key: string | undefined): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, 'start'], {
    env: {
      PATH: process.env.PATH,
      HOOKLINE_DATA_DIR: dataDir,
      HOOKLINE_PORT: '0',
      HOOKLINE_HOST: '127.0.0.1',
      HOOKLINE_LOG_LEVEL: 'error',
      ...(key === undefined ? {} : { HOOKLINE_ENCRYPTION_KEY: key }),
    },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(result.error, undefined);
  return { status: result.status, stderr: result.stderr };
}

test('sqlite file holds no plaintext secret', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-encrypted-'));
  const key = randomBytes(32);
  try {
    const hookline = await startTestHookline({ dataDir, encryptionKey: [key] }, { api: true, worker: true });
    let written: Written;
    try {
      written = await writeSecrets(hookline);
    } finally {
      await hookline.destroy();
    }

    const database = new Database(join(dataDir, 'hookline.db'), { readonly: true });
    try {
      const names = database.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      const tables = Object.fromEntries(names.map(({ name }) => [name, database.prepare(`select * from "${name}"`).all()]));
      assertNoSecretIn(tables, written);
    } finally {
      database.close();
    }

    const wrongKey = startCli(dataDir, randomBytes(32).toString('base64'));
    assert.notEqual(wrongKey.status, 0);
    assert.match(wrongKey.stderr, /^hookline: HOOKLINE_ENCRYPTION_KEY cannot decrypt the stored signing secrets: they were encrypted with another key/);
    assert.doesNotMatch(wrongKey.stderr, /\n\s+at /, 'the message has a stack trace');

    const noKey = startCli(dataDir, undefined);
    assert.notEqual(noKey.status, 0);
    assert.match(noKey.stderr, /^hookline: The database contains encrypted signing secrets, but HOOKLINE_ENCRYPTION_KEY is not set/);

    const badFormat = startCli(dataDir, key.toString('base64').slice(0, 20));
    assert.notEqual(badFormat.status, 0);
    assert.match(badFormat.stderr, /HOOKLINE_ENCRYPTION_KEY=\(value hidden\) is invalid: the key is not 32 bytes in base64/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('turning encryption on leaves no plaintext copy in the sqlite files', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-encrypt-later-'));
  try {
    // Enough endpoints to fill many pages: the longer encrypted rows move to other pages,
    // which leaves the plain-text rows behind in free space unless the file is rewritten.
    const secrets = Array.from({ length: 150 }, () => `whsec_${randomBytes(24).toString('base64')}`);
    const plain = await startTestHookline({ dataDir }, { api: true, worker: false });
    try {
      assert.equal((await plain.request('POST', '/api/v1/app', { name: 'Later', uid: 'later' })).status, 201);
      for (const secret of secrets) {
        const endpoint = await plain.request('POST', '/api/v1/app/later/endpoint', { url: 'https://example.com/hook', secret });
        assert.equal(endpoint.status, 201);
      }
    } finally {
      await plain.destroy();
    }
    const secretsInFiles = () => {
      const files = ['hookline.db', 'hookline.db-wal'].map((name) => join(dataDir, name)).filter((path) => existsSync(path));
      const contents = files.map((path) => readFileSync(path));
      return secrets.filter((secret) => contents.some((content) => content.includes(secret.slice('whsec_'.length))));
    };
    assert.equal(secretsInFiles().length, secrets.length, 'the secrets were not written in plain text before encryption was turned on');

    const encrypted = await startTestHookline({ dataDir, encryptionKey: [randomBytes(32)] }, { api: true, worker: false });
    await encrypted.destroy();
    assert.deepEqual(secretsInFiles(), []);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('postgres tables hold no plaintext secret', async (context) => {
  const reason = (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
  if (reason !== undefined) {
    context.skip(reason);
    return;
  }

  const hookline = await startTestHookline({ encryptionKey: [randomBytes(32)] }, { api: true, worker: true }, 'scaled');
  try {
    const written = await writeSecrets(hookline);

    const names = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = current_schema()
    `.execute(hookline.store.db);
    const tables: Record<string, unknown[]> = {};
    for (const { table_name: name } of names.rows) {
      tables[name] = (await sql`select * from ${sql.table(name)}`.execute(hookline.store.db)).rows;
    }
    assertNoSecretIn(tables, written);
  } finally {
    await hookline.destroy();
  }
});
