import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import { createId } from '../../src/store/ids.js';
import type { Endpoint } from '../../src/store/records.js';
import { encryptionKeyId, SecretCipher, SecretDecryptionError } from '../../src/store/secret-cipher.js';
import { encryptStoredSecrets, SecretEncryptionError } from '../../src/store/secret-encryption.js';
import { createStore, type Store } from '../../src/store/store.js';
import type { TestStore } from '../helpers/store.js';
import { describeEveryStore } from './store-suite.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);

function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

function newEndpoint(): Endpoint {
  const now = Date.now();
  return {
    id: createId('ep', now),
    appId: 'app_encryption',
    uid: null,
    url: 'http://127.0.0.1:9/encrypted',
    description: '',
    disabled: false,
    throttleRate: null,
    eventTypes: null,
    channels: null,
    metadata: {},
    headers: {},
    createdAt: now,
    updatedAt: now,
  };
}

/** Reads every value of the secret column with plain SQL, around the repositories. */
async function rawSecrets(testStore: TestStore): Promise<string[]> {
  const result = await sql<{ secret: string }>`select secret from endpoint_secret order by id`.execute(testStore.db);
  return result.rows.map((row) => row.secret);
}

function assertNoPlaintext(rows: string[], secrets: string[]): void {
  for (const row of rows) {
    assert.match(row, /^hlenc1:[0-9a-f]{16}:[A-Za-z0-9+/]+=*$/);
    for (const secret of secrets) {
      assert.ok(!row.includes(secret.slice('whsec_'.length)), `row ${row} contains a secret`);
    }
  }
}

describeEveryStore('secret encryption', (open) => {
  async function openWith(cipher: SecretCipher | undefined): Promise<{ store: Store; testStore: TestStore; reopen(next?: SecretCipher): Store }> {
    const { testStore } = await open();
    return {
      store: createStore(testStore.db, testStore.dialect, { cipher }),
      testStore,
      reopen: (next) => createStore(testStore.db, testStore.dialect, { cipher: next }),
    };
  }

  test('secrets stored encrypted and read back', async (context) => {
    const { store, testStore } = await openWith(new SecretCipher([keyA]));
    context.after(() => testStore.destroy());
    const endpoint = newEndpoint();
    const first = newSecret();
    const second = newSecret();

    await store.endpoints.insert(endpoint, first);
    await store.endpoints.rotateSecret(endpoint.id, second, Date.now(), Date.now() + 60_000);

    const rows = await rawSecrets(testStore);
    assert.equal(rows.length, 2);
    assertNoPlaintext(rows, [first, second]);
    assert.ok(rows.every((row) => row.startsWith(`hlenc1:${encryptionKeyId(keyA)}:`)));
    const active = await store.endpoints.activeSecrets(endpoint.id, Date.now());
    assert.deepEqual(active.map((secret) => secret.secret), [second, first]);
  });

  test('plain secrets encrypted at start-up', async (context) => {
    const { store, testStore, reopen } = await openWith(undefined);
    context.after(() => testStore.destroy());
    const endpoint = newEndpoint();
    const secret = newSecret();
    await store.endpoints.insert(endpoint, secret);
    assert.deepEqual(await rawSecrets(testStore), [secret]);

    // Rows written before the key existed stay readable before start-up encrypts them.
    const encrypted = reopen(new SecretCipher([keyA]));
    assert.deepEqual((await encrypted.endpoints.activeSecrets(endpoint.id, Date.now())).map((row) => row.secret), [secret]);

    assert.equal(await encryptStoredSecrets(testStore.db, new SecretCipher([keyA])), 1);
    assertNoPlaintext(await rawSecrets(testStore), [secret]);
    assert.deepEqual((await encrypted.endpoints.activeSecrets(endpoint.id, Date.now())).map((row) => row.secret), [secret]);
    assert.equal(await encryptStoredSecrets(testStore.db, new SecretCipher([keyA])), 0);
  });

  test('key change encrypts again with the new key', async (context) => {
    const { store, testStore, reopen } = await openWith(new SecretCipher([keyA]));
    context.after(() => testStore.destroy());
    const endpoint = newEndpoint();
    const secret = newSecret();
    await store.endpoints.insert(endpoint, secret);

    assert.equal(await encryptStoredSecrets(testStore.db, new SecretCipher([keyB, keyA])), 1);

    const rows = await rawSecrets(testStore);
    assert.ok(rows.every((row) => row.startsWith(`hlenc1:${encryptionKeyId(keyB)}:`)));
    assertNoPlaintext(rows, [secret]);
    const onlyNew = reopen(new SecretCipher([keyB]));
    assert.deepEqual((await onlyNew.endpoints.activeSecrets(endpoint.id, Date.now())).map((row) => row.secret), [secret]);
  });

  test('missing key stops start-up', async (context) => {
    const { store, testStore } = await openWith(new SecretCipher([keyA]));
    context.after(() => testStore.destroy());
    await store.endpoints.insert(newEndpoint(), newSecret());

    await assert.rejects(encryptStoredSecrets(testStore.db, undefined), (error: unknown) => {
      assert.ok(error instanceof SecretEncryptionError);
      assert.match(error.message, /contains encrypted signing secrets, but HOOKLINE_ENCRYPTION_KEY is not set/);
      return true;
    });
  });

  test('wrong key stops start-up', async (context) => {
    const { store, testStore } = await openWith(new SecretCipher([keyA]));
    context.after(() => testStore.destroy());
    const secret = newSecret();
    await store.endpoints.insert(newEndpoint(), secret);

    await assert.rejects(encryptStoredSecrets(testStore.db, new SecretCipher([keyB])), (error: unknown) => {
      assert.ok(error instanceof SecretEncryptionError);
      assert.match(error.message, /^HOOKLINE_ENCRYPTION_KEY cannot decrypt the stored signing secrets/);
      assert.ok(!error.message.includes(secret));
      return true;
    });
    // Nothing was rewritten, so the right key still reads every secret.
    assert.ok((await rawSecrets(testStore)).every((row) => row.startsWith(`hlenc1:${encryptionKeyId(keyA)}:`)));
  });
});

test('ciphertext bound to its row', () => {
  const cipher = new SecretCipher([keyA]);
  const sealed = cipher.encrypt('whsec_c2VjcmV0LXRlc3QtdmFsdWUtMDAwMDAwMDA=', 'sec_one');

  assert.equal(cipher.decrypt(sealed, 'sec_one'), 'whsec_c2VjcmV0LXRlc3QtdmFsdWUtMDAwMDAwMDA=');
  assert.throws(() => cipher.decrypt(sealed, 'sec_two'), SecretDecryptionError);
  const prefixLength = sealed.lastIndexOf(':') + 1;
  const bytes = Buffer.from(sealed.slice(prefixLength), 'base64');
  for (const index of [0, 12, bytes.length - 1]) {
    const tampered = Buffer.from(bytes);
    tampered[index] = (tampered[index] ?? 0) ^ 1;
    assert.throws(() => cipher.decrypt(`${sealed.slice(0, prefixLength)}${tampered.toString('base64')}`, 'sec_one'), SecretDecryptionError, `byte ${index}`);
  }
  assert.notEqual(cipher.encrypt('same', 'sec_one'), cipher.encrypt('same', 'sec_one'));
});

describeEveryStore('idempotent response encryption', (open) => {
  test('stored response encrypted and replayed', async (context) => {
    const { testStore } = await open();
    context.after(() => testStore.destroy());
    const store = createStore(testStore.db, testStore.dialect, { cipher: new SecretCipher([keyA]) });
    const secret = newSecret();
    const body = JSON.stringify({ subscriptionId: 'ep_1', secret });

    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'key-1', 'hash', Date.now(), 60_000), { kind: 'claimed' });
    await store.idempotencyKeys.complete('admin', 'key-1', 201, body);

    const rows = await sql<{ response_body: string }>`select response_body from idempotency_key`.execute(testStore.db);
    assert.equal(rows.rows.length, 1);
    assert.match(rows.rows[0]?.response_body ?? '', /^hlenc1:/);
    assert.ok(!(rows.rows[0]?.response_body ?? '').includes(secret.slice('whsec_'.length)));
    assert.deepEqual(await store.idempotencyKeys.claim('admin', 'key-1', 'hash', Date.now(), 60_000), { kind: 'completed', statusCode: 201, body });
  });
});
