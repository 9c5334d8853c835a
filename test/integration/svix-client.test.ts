import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  ApiException,
  MessageStatus,
  StatusCodeClass,
  Svix,
  type EndpointIn,
  type EndpointOut,
  type MessageAttemptOut,
} from 'svix';
import { startTestHookline, testAdminToken, waitFor, type TestHookline } from '../helpers/hookline.js';
import { redisUnavailable } from '../helpers/redis.js';
import { storeDrivers } from '../helpers/store.js';
import { startTimedReceiver, verifyDelivery, type TimedReceiver } from './webhook-check.js';

/**
 * Returns why the scaled mode (PostgreSQL and Redis) cannot be tested here, or undefined
 * when it can. Under CI=true a missing service throws, so the file fails instead of skipping.
 */
async function scaledModeUnavailable(): Promise<string | undefined> {
  return (await redisUnavailable()) ?? (await storeDrivers.find((driver) => driver.name === 'postgres')?.unavailable());
}

const scaledSkipReason = await scaledModeUnavailable();

/**
 * Defines the whole suite against a Hookline in `mode`. Each mode gets its own server,
 * receiver and state, and its tests run in order, because the last one checks every
 * delivery that the others caused.
 */
function describeSvixClient(mode: 'embedded' | 'scaled', skip: string | undefined): void {
  describe(`svix client against the ${mode} mode`, { skip }, () => {
    let hookline: TestHookline;
    let svix: Svix;
    let receiver: TimedReceiver;
    /** Status code the receiver responds with, by request path, or 204 for paths not listed. */
    const statusByPath = new Map<string, number>();
    /** Signing secret of the endpoint behind each receiver path, for the final check of every delivery. */
    const secretByPath = new Map<string, string>();

    before(async () => {
      // A generous request timeout, so that a slow response on a loaded machine adds no attempt.
      hookline = await startTestHookline({ requestTimeout: 5_000 }, { api: true, worker: true }, mode);
      svix = new Svix(testAdminToken, { serverUrl: hookline.url });
      receiver = await startTimedReceiver((request: IncomingMessage, response: ServerResponse) => {
        response.writeHead(statusByPath.get(request.url ?? '') ?? 204);
        response.end();
      });
    });

    after(async () => {
      await hookline.destroy();
      await receiver.close();
    });

    /** Checks that a promise rejects with the svix client's ApiException of this status. */
    async function rejectsWithStatus(promise: Promise<unknown>, status: number, code?: string): Promise<void> {
      await assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof ApiException, `expected ApiException, got ${String(error)}`);
        assert.equal(error.code, status);
        if (code !== undefined) {
          assert.equal((error.body as { code?: string }).code, code);
        }
        return true;
      });
    }

    function requestsTo(path: string) {
      return receiver.requests.filter((request) => request.url === path);
    }

    /** Creates an endpoint with the svix client and remembers its signing secret by receiver path. */
    async function createEndpoint(appId: string, endpointIn: EndpointIn): Promise<EndpointOut> {
      const endpoint = await svix.endpoint.create(appId, endpointIn);
      const { key } = await svix.endpoint.getSecret(appId, endpoint.id);
      secretByPath.set(new URL(endpoint.url).pathname, key);
      return endpoint;
    }

    function randomSecret(): string {
      return `whsec_${randomBytes(32).toString('base64')}`;
    }

    /** Waits until the delivery of a message to an endpoint has this status (0 success, 2 fail). */
    async function waitForDeliveryStatus(appId: string, msgId: string, endpointId: string, status: number): Promise<void> {
      await waitFor(
        async () => {
          const destinations = await svix.messageAttempt.listAttemptedDestinations(appId, msgId);
          return destinations.data.some((destination) => destination.id === endpointId && destination.status === status);
        },
        10_000,
        `delivery of ${msgId} to reach status ${status}`,
      );
    }

    test('application list pages through every application', async () => {
      for (let index = 0; index < 5; index += 1) {
        await svix.application.create({ name: `Paged ${index}`, uid: `paged-${index}` });
      }
      const everything = await svix.application.list({ limit: 250 });
      assert.equal(everything.done, true);
      assert.deepEqual(
        everything.data.map((application) => application.uid).filter((uid) => uid?.startsWith('paged-')),
        ['paged-0', 'paged-1', 'paged-2', 'paged-3', 'paged-4'],
      );

      const seen: string[] = [];
      const pageSizes: number[] = [];
      const doneFlags: boolean[] = [];
      let iterator: string | null | undefined;
      for (let page = 0; page < 20; page += 1) {
        const result = await svix.application.list({ limit: 2, iterator });
        seen.push(...result.data.map((application) => application.id));
        pageSizes.push(result.data.length);
        doneFlags.push(result.done);
        if (result.done) {
          break;
        }
        assert.equal(result.iterator, result.data.at(-1)?.id);
        iterator = result.iterator;
      }
      assert.deepEqual(seen, everything.data.map((application) => application.id));
      const pages = Math.ceil(everything.data.length / 2);
      assert.equal(pageSizes.length, pages);
      assert.deepEqual(doneFlags, [...Array<boolean>(pages - 1).fill(false), true]);

      const descending = await svix.application.list({ limit: 250, order: 'descending' as never });
      assert.deepEqual(descending.data.map((application) => application.id), [...seen].reverse());
    });

    test('application CRUD by id and uid', async () => {
      const created = await svix.application.create({ name: 'Acme', uid: 'acme', metadata: { plan: 'pro' } });
      assert.match(created.id, /^app_[0-9a-z]{26}$/);
      assert.equal(created.uid, 'acme');
      assert.equal(created.name, 'Acme');
      assert.deepEqual(created.metadata, { plan: 'pro' });
      assert.ok(created.createdAt instanceof Date);
      assert.ok(!Number.isNaN(created.createdAt.getTime()));
      assert.equal(created.updatedAt.getTime(), created.createdAt.getTime());

      assert.deepEqual(await svix.application.get(created.id), created);
      assert.deepEqual(await svix.application.get('acme'), created);

      const updated = await svix.application.update('acme', { name: 'Acme Corp', uid: 'acme' });
      assert.equal(updated.id, created.id);
      assert.equal(updated.name, 'Acme Corp');
      assert.deepEqual(updated.metadata, {});

      const patched = await svix.application.patch(created.id, { metadata: { tier: 'gold' }, rateLimit: 20 });
      assert.equal(patched.name, 'Acme Corp');
      assert.equal(patched.uid, 'acme');
      assert.deepEqual(patched.metadata, { tier: 'gold' });
      assert.equal(patched.rateLimit, 20);
      assert.equal(patched.throttleRate, 20);

      await rejectsWithStatus(svix.application.create({ name: 'Second Acme', uid: 'acme' }), 409, 'conflict');

      await svix.application.delete('acme');
      await rejectsWithStatus(svix.application.get(created.id), 404, 'not_found');
      await rejectsWithStatus(svix.application.get('acme'), 404, 'not_found');
    });

    test('application getOrCreate returns the existing one', async () => {
      const first = await svix.application.getOrCreate({ name: 'Once', uid: 'once' });
      const second = await svix.application.getOrCreate({ name: 'Another name', uid: 'once' });
      assert.equal(second.id, first.id);
      assert.equal(second.name, 'Once');

      const existing = await hookline.request('POST', '/api/v1/app?get_if_exists=true', { name: 'Again', uid: 'once' });
      assert.equal(existing.status, 200);
      assert.equal(existing.body.id, first.id);
      const fresh = await hookline.request('POST', '/api/v1/app?get_if_exists=true', { name: 'Fresh', uid: 'fresh' });
      assert.equal(fresh.status, 201);
      assert.equal(fresh.body.name, 'Fresh');
    });

    test('idempotency key replays the creation', async () => {
      const first = await svix.application.create({ name: 'Replayed', uid: 'replayed' }, { idempotencyKey: 'create-replayed' });
      const second = await svix.application.create({ name: 'Replayed', uid: 'replayed' }, { idempotencyKey: 'create-replayed' });
      assert.deepEqual(second, first);
      await rejectsWithStatus(svix.application.create({ name: 'Replayed', uid: 'replayed' }), 409, 'conflict');
    });

    test('event type CRUD and archive', async () => {
      const schemas = { '1': { type: 'object', properties: { amount: { type: 'integer' } } } };
      const created = await svix.eventType.create({ name: 'invoice.paid', description: 'An invoice was paid.', schemas });
      assert.equal(created.name, 'invoice.paid');
      assert.equal(created.description, 'An invoice was paid.');
      assert.deepEqual(created.schemas, schemas);
      assert.equal(created.archived, false);
      assert.equal(created.deprecated, false);
      assert.equal(created.featureFlag, null);

      assert.deepEqual(await svix.eventType.get('invoice.paid'), created);
      await rejectsWithStatus(svix.eventType.create({ name: 'invoice.paid', description: 'Again.' }), 409, 'conflict');

      const listed = await svix.eventType.list({ limit: 250 });
      assert.deepEqual(
        listed.data.map((eventType) => eventType.name),
        ['invoice.paid', 'trap.diffuse', 'trap.set'],
      );
      assert.equal(listed.done, true);

      const updated = await svix.eventType.update('invoice.paid', { description: 'An invoice was paid in full.' });
      assert.equal(updated.description, 'An invoice was paid in full.');
      assert.equal(updated.schemas, null);

      const patched = await svix.eventType.patch('invoice.paid', { deprecated: true });
      assert.equal(patched.deprecated, true);
      assert.equal(patched.description, 'An invoice was paid in full.');

      await svix.eventType.delete('invoice.paid');
      assert.equal((await svix.eventType.get('invoice.paid')).archived, true);
      const active = await svix.eventType.list({ limit: 250 });
      assert.deepEqual(active.data.map((eventType) => eventType.name), ['trap.diffuse', 'trap.set']);
      const withArchived = await svix.eventType.list({ limit: 250, includeArchived: true });
      assert.deepEqual(withArchived.data.map((eventType) => eventType.name), ['invoice.paid', 'trap.diffuse', 'trap.set']);

      await rejectsWithStatus(svix.eventType.get('invoice.unknown'), 404, 'not_found');

      await svix.eventType.delete('invoice.paid', { expunge: true });
      await rejectsWithStatus(svix.eventType.get('invoice.paid'), 404, 'not_found');
    });

    test('endpoint CRUD with secrets and filters', async () => {
      const app = await svix.application.create({ name: 'Endpoints', uid: 'endpoints' });

      const plain = await svix.endpoint.create(app.id, { url: receiver.url('/plain'), description: 'Plain' });
      assert.match(plain.id, /^ep_[0-9a-z]{26}$/);
      assert.equal(plain.url, receiver.url('/plain'));
      assert.equal(plain.description, 'Plain');
      assert.equal(plain.disabled, false);
      assert.equal(plain.version, 1);
      assert.equal(plain.uid, null);
      assert.equal(plain.filterTypes ?? null, null);
      assert.equal(plain.channels, null);
      const generated = await svix.endpoint.getSecret(app.id, plain.id);
      assert.match(generated.key, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      const keyBytes = Buffer.from(generated.key.slice('whsec_'.length), 'base64').length;
      assert.ok(keyBytes >= 24, `secret has ${keyBytes} bytes`);
      assert.ok(keyBytes <= 64, `secret has ${keyBytes} bytes`);

      const secret = randomSecret();
      const filtered = await svix.endpoint.create(app.id, {
        url: receiver.url('/filtered'),
        uid: 'filtered',
        secret,
        filterTypes: ['invoice.paid', 'invoice.voided'],
        channels: ['billing'],
        metadata: { team: 'payments' },
        rateLimit: 10,
      });
      assert.deepEqual(filtered.filterTypes, ['invoice.paid', 'invoice.voided']);
      assert.equal(filtered.rateLimit, 10);
      assert.equal(filtered.throttleRate, 10);
      assert.deepEqual(filtered.channels, ['billing']);
      assert.deepEqual(filtered.metadata, { team: 'payments' });
      assert.equal((await svix.endpoint.getSecret(app.id, filtered.id)).key, secret);
      assert.equal((await svix.endpoint.getSecret('endpoints', 'filtered')).key, secret);

      assert.deepEqual(await svix.endpoint.get(app.id, filtered.id), filtered);
      assert.deepEqual(await svix.endpoint.get('endpoints', 'filtered'), filtered);
      await rejectsWithStatus(svix.endpoint.create(app.id, { url: receiver.url('/again'), uid: 'filtered' }), 409, 'conflict');

      const listed = await svix.endpoint.list(app.id);
      assert.deepEqual(listed.data.map((endpoint) => endpoint.id), [plain.id, filtered.id]);

      const updated = await svix.endpoint.update(app.id, filtered.id, {
        url: receiver.url('/filtered-v2'),
        uid: 'filtered',
        filterTypes: ['invoice.paid'],
      });
      assert.equal(updated.url, receiver.url('/filtered-v2'));
      assert.deepEqual(updated.filterTypes, ['invoice.paid']);
      assert.equal(updated.channels, null);
      assert.deepEqual(updated.metadata, {});
      assert.equal(updated.rateLimit, null);
      assert.equal((await svix.endpoint.getSecret(app.id, filtered.id)).key, secret);

      const patched = await svix.endpoint.patch(app.id, filtered.id, { disabled: true, channels: ['eu'] });
      assert.equal(patched.disabled, true);
      assert.deepEqual(patched.channels, ['eu']);
      assert.equal(patched.url, receiver.url('/filtered-v2'));
      assert.deepEqual(patched.filterTypes, ['invoice.paid']);

      await svix.endpoint.delete(app.id, filtered.id);
      await rejectsWithStatus(svix.endpoint.get(app.id, filtered.id), 404, 'not_found');
      assert.deepEqual((await svix.endpoint.list(app.id)).data.map((endpoint) => endpoint.id), [plain.id]);
    });

    test('endpoint filterTypes and channels select messages', async () => {
      const app = await svix.application.create({ name: 'Filters', uid: 'filters' });
      const all = await createEndpoint(app.id, { url: receiver.url('/filters-all') });
      const typed = await createEndpoint(app.id, { url: receiver.url('/filters-typed'), filterTypes: ['order.paid'] });
      const channeled = await createEndpoint(app.id, { url: receiver.url('/filters-channel'), channels: ['eu'] });

      const paid = await svix.message.create(app.id, { eventType: 'order.paid', payload: { n: 1 } });
      const shippedEu = await svix.message.create(app.id, { eventType: 'order.shipped', payload: { n: 2 }, channels: ['eu'] });
      const paidUs = await svix.message.create(app.id, { eventType: 'order.paid', payload: { n: 3 }, channels: ['us'] });

      await waitFor(
        () => requestsTo('/filters-all').length === 3 && requestsTo('/filters-typed').length === 2 && requestsTo('/filters-channel').length === 1,
        10_000,
        'deliveries to the filtered endpoints',
      );
      const destinations = async (msgId: string) =>
        (await svix.messageAttempt.listAttemptedDestinations(app.id, msgId)).data.map((endpoint) => endpoint.id).sort();
      assert.deepEqual(await destinations(paid.id), [all.id, typed.id].sort());
      assert.deepEqual(await destinations(shippedEu.id), [all.id, channeled.id].sort());
      assert.deepEqual(await destinations(paidUs.id), [all.id, typed.id].sort());
      assert.deepEqual(
        requestsTo('/filters-typed').map((request) => request.headers['webhook-id']),
        [paid.id, paidUs.id],
      );
      assert.deepEqual(requestsTo('/filters-channel').map((request) => request.headers['webhook-id']), [shippedEu.id]);
    });

    test('endpoint headers get, update and patch', async () => {
      const app = await svix.application.create({ name: 'Headers', uid: 'headers' });
      const endpoint = await createEndpoint(app.id, { url: receiver.url('/headers') });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, endpoint.id), { headers: {}, sensitive: [] });

      await svix.endpoint.updateHeaders(app.id, endpoint.id, {
        headers: { 'X-Tenant': 'acme', 'X-Region': 'eu', Authorization: 'Bearer receiver-token' },
      });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, endpoint.id), {
        headers: { 'X-Tenant': 'acme', 'X-Region': 'eu' },
        sensitive: ['Authorization'],
      });

      // The spec's way of removing a header is a null value.
      await svix.endpoint.patchHeaders(app.id, endpoint.id, { headers: { 'X-Extra': '1', 'X-Region': null as unknown as string } });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, endpoint.id), {
        headers: { 'X-Tenant': 'acme', 'X-Extra': '1' },
        sensitive: ['Authorization'],
      });

      // The svix client's way is a list of names in deleteHeaders.
      await svix.endpoint.patchHeaders(app.id, endpoint.id, { headers: {}, deleteHeaders: ['X-Extra'] });
      assert.deepEqual(await svix.endpoint.getHeaders(app.id, endpoint.id), {
        headers: { 'X-Tenant': 'acme' },
        sensitive: ['Authorization'],
      });

      const message = await svix.message.create(app.id, { eventType: 'header.check', payload: {} });
      await waitFor(() => requestsTo('/headers').length === 1, 10_000, 'the webhook with custom headers');
      const [received] = requestsTo('/headers');
      assert.ok(received);
      assert.equal(received.headers['webhook-id'], message.id);
      assert.equal(received.headers['x-tenant'], 'acme');
      assert.equal(received.headers['authorization'], 'Bearer receiver-token');
      assert.equal(received.headers['x-extra'], undefined);
      assert.equal(received.headers['x-region'], undefined);
    });

    test('message create with eventId, get and list', async () => {
      const app = await svix.application.create({ name: 'Messages', uid: 'messages' });
      const first = await svix.message.create(app.id, {
        eventType: 'invoice.paid',
        eventId: 'evt-1',
        payload: { invoice: 'in_1', amount: 1000 },
        channels: ['billing'],
      });
      assert.match(first.id, /^msg_[0-9a-z]{26}$/);
      assert.equal(first.eventType, 'invoice.paid');
      assert.equal(first.eventId, 'evt-1');
      assert.deepEqual(first.payload, { invoice: 'in_1', amount: 1000 });
      assert.deepEqual(first.channels, ['billing']);
      assert.ok(first.timestamp instanceof Date);
      assert.ok(!Number.isNaN(first.timestamp.getTime()));

      await rejectsWithStatus(
        svix.message.create(app.id, { eventType: 'invoice.paid', eventId: 'evt-1', payload: { again: true } }),
        409,
        'conflict',
      );

      assert.deepEqual(await svix.message.get(app.id, first.id), first);
      assert.deepEqual(await svix.message.get('messages', 'evt-1'), first);
      await rejectsWithStatus(svix.message.get(app.id, 'msg_unknown'), 404, 'not_found');

      const autoCreated = await svix.message.create('auto-created', {
        eventType: 'invoice.paid',
        payload: {},
        application: { name: 'Auto', uid: 'auto-created' },
      });
      assert.match(autoCreated.id, /^msg_[0-9a-z]{26}$/);
      assert.equal((await svix.application.get('auto-created')).name, 'Auto');
      await rejectsWithStatus(svix.message.create('not-created', { eventType: 'invoice.paid', payload: {} }), 404, 'not_found');

      const second = await svix.message.create(app.id, { eventType: 'invoice.voided', payload: { invoice: 'in_2' } });
      const listed = await svix.message.list(app.id);
      assert.deepEqual(listed.data.map((message) => message.id), [second.id, first.id]);
      assert.equal(listed.done, true);
      const byType = await svix.message.list(app.id, { eventTypes: ['invoice.voided'] });
      assert.deepEqual(byType.data.map((message) => message.id), [second.id]);
      const paged = await svix.message.list(app.id, { limit: 1 });
      assert.deepEqual(paged.data.map((message) => message.id), [second.id]);
      assert.equal(paged.done, false);
      const rest = await svix.message.list(app.id, { limit: 1, iterator: paged.iterator });
      assert.deepEqual(rest.data.map((message) => message.id), [first.id]);
      assert.equal(rest.done, true);
    });

    test('attempts listed, fetched and resent', async () => {
      const app = await svix.application.create({ name: 'Attempts', uid: 'attempts' });
      const secret = randomSecret();
      const endpoint = await createEndpoint(app.id, { url: receiver.url('/attempts'), secret });
      const message = await svix.message.create(app.id, { eventType: 'invoice.paid', payload: { invoice: 'in_9' } });

      await waitFor(() => requestsTo('/attempts').length === 1, 10_000, 'the first webhook');
      await waitForDeliveryStatus(app.id, message.id, endpoint.id, 0);
      assert.deepEqual(verifyDelivery(secret, requestsTo('/attempts')[0]!), { invoice: 'in_9' });

      const byEndpoint = await svix.messageAttempt.listByEndpoint(app.id, endpoint.id);
      assert.equal(byEndpoint.data.length, 1);
      const attempt = byEndpoint.data[0] as MessageAttemptOut;
      assert.match(attempt.id, /^atmpt_[0-9a-z]{26}$/);
      assert.equal(attempt.msgId, message.id);
      assert.equal(attempt.endpointId, endpoint.id);
      assert.equal(attempt.url, receiver.url('/attempts'));
      assert.equal(attempt.status, 0);
      assert.equal(attempt.statusText, 'success');
      assert.equal(attempt.responseStatusCode, 204);
      assert.equal(attempt.triggerType, 0);

      const byMessage = await svix.messageAttempt.listByMsg(app.id, message.id);
      assert.deepEqual(byMessage.data, [attempt]);
      assert.deepEqual(await svix.messageAttempt.get(app.id, message.id, attempt.id), attempt);
      await rejectsWithStatus(svix.messageAttempt.get(app.id, message.id, 'atmpt_unknown'), 404, 'not_found');

      const attempted = await svix.messageAttempt.listAttemptedMessages(app.id, endpoint.id);
      assert.equal(attempted.data.length, 1);
      assert.equal(attempted.data[0]?.id, message.id);
      assert.equal(attempted.data[0]?.status, 0);
      assert.equal(attempted.data[0]?.statusText, 'success');
      assert.equal(attempted.data[0]?.nextAttempt, null);
      assert.deepEqual(attempted.data[0]?.payload, { invoice: 'in_9' });

      const destinations = await svix.messageAttempt.listAttemptedDestinations(app.id, message.id);
      assert.equal(destinations.data.length, 1);
      assert.equal(destinations.data[0]?.id, endpoint.id);
      assert.equal(destinations.data[0]?.url, receiver.url('/attempts'));
      assert.equal(destinations.data[0]?.status, 0);
      assert.equal(destinations.data[0]?.statusText, 'success');

      assert.deepEqual(await svix.messageAttempt.resend(app.id, message.id, endpoint.id), {});
      await waitFor(() => requestsTo('/attempts').length === 2, 10_000, 'the resent webhook');
      await waitFor(
        async () => (await svix.messageAttempt.listByMsg(app.id, message.id)).data.length === 2,
        10_000,
        'the manual attempt to be recorded',
      );
      const [resentRequest] = requestsTo('/attempts').slice(1);
      assert.ok(resentRequest);
      assert.equal(resentRequest.headers['webhook-id'], message.id);
      assert.deepEqual(verifyDelivery(secret, resentRequest), { invoice: 'in_9' });

      const afterResend = await svix.messageAttempt.listByMsg(app.id, message.id);
      assert.deepEqual(
        afterResend.data.map((item) => [item.triggerType, item.status, item.responseStatusCode]),
        [
          [1, 0, 204],
          [0, 0, 204],
        ],
      );

      const stats = await svix.endpoint.getStats(app.id, endpoint.id);
      assert.deepEqual(stats, { success: 1, pending: 0, fail: 0, sending: 0, canceled: 0 });
    });

    test('recover resends failed deliveries since a time', async () => {
      const app = await svix.application.create({ name: 'Recover', uid: 'recover' });
      const endpoint = await createEndpoint(app.id, { url: receiver.url('/recover') });
      const send = (n: number) => svix.message.create(app.id, { eventType: 'job.done', payload: { n } });

      statusByPath.set('/recover', 500);
      const failedBefore = await send(1);
      await waitForDeliveryStatus(app.id, failedBefore.id, endpoint.id, 2);
      const since = new Date();
      await waitFor(() => Date.now() > since.getTime(), 1_000, 'the clock to pass since');
      const failedAfter = [await send(2), await send(3)];
      for (const message of failedAfter) {
        await waitForDeliveryStatus(app.id, message.id, endpoint.id, 2);
      }
      statusByPath.set('/recover', 204);
      const succeeded = await send(4);
      await waitForDeliveryStatus(app.id, succeeded.id, endpoint.id, 0);

      assert.deepEqual(await svix.endpoint.getStats(app.id, endpoint.id), { success: 1, pending: 0, fail: 3, sending: 0, canceled: 0 });
      const countFor = (msgId: string) => requestsTo('/recover').filter((request) => request.headers['webhook-id'] === msgId).length;
      assert.equal(countFor(failedBefore.id), 4);
      assert.equal(countFor(failedAfter[0]!.id), 4);
      assert.equal(countFor(succeeded.id), 1);

      const failedAttempts = await svix.messageAttempt.listByEndpoint(app.id, endpoint.id, {
        status: MessageStatus.Fail,
        statusCodeClass: StatusCodeClass.CodeNone,
      });
      assert.equal(failedAttempts.data.length, 0);
      const serverErrors = await svix.messageAttempt.listByEndpoint(app.id, endpoint.id, {
        status: MessageStatus.Fail,
        statusCodeClass: StatusCodeClass.Code5xx,
      });
      assert.equal(serverErrors.data.length, 12);
      const successes = await svix.messageAttempt.listByEndpoint(app.id, endpoint.id, { status: MessageStatus.Success });
      assert.deepEqual(successes.data.map((attempt) => attempt.msgId), [succeeded.id]);
      const failedMessages = await svix.messageAttempt.listAttemptedMessages(app.id, endpoint.id, { status: MessageStatus.Fail });
      assert.deepEqual(
        failedMessages.data.map((message) => message.id),
        [failedAfter[1]!.id, failedAfter[0]!.id, failedBefore.id],
      );

      const task = await svix.endpoint.recover(app.id, endpoint.id, { since });
      assert.match(task.id, /^qtask_/);
      assert.equal(task.status, 'running');
      assert.equal(task.task, 'endpoint.recover');

      for (const message of failedAfter) {
        await waitForDeliveryStatus(app.id, message.id, endpoint.id, 0);
      }
      assert.equal(countFor(failedAfter[0]!.id), 5);
      assert.equal(countFor(failedAfter[1]!.id), 5);
      assert.equal(countFor(failedBefore.id), 4);
      assert.equal(countFor(succeeded.id), 1);
      assert.deepEqual(await svix.endpoint.getStats(app.id, endpoint.id), { success: 3, pending: 0, fail: 1, sending: 0, canceled: 0 });

      const recoveredAttempts = await svix.messageAttempt.listByMsg(app.id, failedAfter[0]!.id);
      assert.deepEqual(
        recoveredAttempts.data.map((item) => [item.triggerType, item.responseStatusCode]),
        [
          [1, 204],
          [0, 500],
          [0, 500],
          [0, 500],
          [0, 500],
        ],
      );
    });

    test('every delivery verifies with both libraries', async () => {
      // Runs last, over every request the earlier tests caused.
      assert.ok(receiver.requests.length > 0);
      for (const request of receiver.requests) {
        const secret = secretByPath.get(request.url);
        assert.ok(secret, `no endpoint secret for ${request.url}`);
        const payload = verifyDelivery(secret, request);
        assert.deepEqual(Buffer.from(JSON.stringify(payload), 'utf8'), request.body);
      }
    });
  });
}

describeSvixClient('embedded', undefined);
describeSvixClient('scaled', scaledSkipReason);
