import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import type { JobOutcome, Queue } from '../../src/queue/contract.js';
import { failureBackoffMs } from '../../src/queue/embedded-consumer.js';
import { EmbeddedQueue } from '../../src/queue/embedded-queue.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import type { Database } from '../../src/store/schema.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { openPostgres } from '../../src/store/postgres.js';
import { createPostgresTestStore, createTestStore, storeDrivers, testDatabaseUrl } from '../helpers/store.js';
import { captureLogs, createGate, describeQueueConformance, waitFor } from './queue-conformance.js';

describeQueueConformance('embedded', async (options) => {
  const store = await createTestStore();
  const queues: Queue[] = [];
  const connections: Kysely<Database>[] = [];

  function open(db: Kysely<Database>, queueOptions: typeof options): Queue {
    const queue = new EmbeddedQueue({ db, ...queueOptions });
    queues.push(queue);
    return queue;
  }

  return {
    queue: open(store.db, options),
    db: store.db,
    async openProcess(overrides = {}) {
      // A second SQLite connection to the same file, as another process would open.
      const { db } = openSqlite(store.path);
      connections.push(db);
      return { queue: open(db, { ...options, ...overrides }), kill: () => db.destroy() };
    },
    async destroy() {
      await Promise.all(queues.map((queue) => queue.close(0)));
      for (const db of connections) {
        await db.destroy();
      }
      await store.destroy();
    },
  };
});

describe('embedded on postgres', async () => {
  const postgres = storeDrivers.find((driver) => driver.name === 'postgres');
  const reason = await postgres?.unavailable();
  if (reason !== undefined) {
    test(`skipped: ${reason}`, { skip: reason }, () => {});
    return;
  }

  describeQueueConformance('embedded on postgres', async (options) => {
    const store = await createPostgresTestStore();
    const queues: Queue[] = [];
    const connections: Kysely<Database>[] = [];

    function open(db: Kysely<Database>, queueOptions: typeof options): Queue {
      const queue = new EmbeddedQueue({ db, ...queueOptions });
      queues.push(queue);
      return queue;
    }

    return {
      queue: open(store.db, options),
      db: store.db,
      async openProcess(overrides = {}) {
        // A second pool on the same schema, as another process would open.
        const { db } = await openPostgres(testDatabaseUrl, { poolSize: 4, schema: store.path });
        connections.push(db);
        return { queue: open(db, { ...options, ...overrides }), kill: () => db.destroy() };
      },
      async destroy() {
        await Promise.all(queues.map((queue) => queue.close(0)));
        for (const db of connections) {
          await db.destroy().catch(() => undefined);
        }
        await store.destroy();
      },
    };
  });
});

test('failureBackoffMs doubles up to 60 s', () => {
  const cases: Array<[attempts: number, backoffMs: number]> = [
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [6, 32_000],
    [7, 60_000],
    [50, 60_000],
    [5_000, 60_000],
  ];
  for (const [attempts, backoffMs] of cases) {
    assert.equal(failureBackoffMs(attempts), backoffMs, `after ${attempts} attempts`);
  }
});

test('EmbeddedQueue rejects invalid options', async () => {
  const store = await createTestStore();
  try {
    const { logger } = captureLogs();
    assert.throws(() => new EmbeddedQueue({ db: store.db, leaseMs: 0, pollIntervalMs: 100, logger }), /Invalid leaseMs: 0/);
    assert.throws(() => new EmbeddedQueue({ db: store.db, leaseMs: 300, pollIntervalMs: Number.NaN, logger }), /Invalid pollIntervalMs/);

    const queue = new EmbeddedQueue({ db: store.db, leaseMs: 300, pollIntervalMs: 100, logger });
    assert.throws(() => queue.consume('events', async () => undefined, { concurrency: 0 }), /Invalid concurrency/);
    await assert.rejects(queue.add('events', [{ id: '', data: {} }]), /Invalid job id/);
    await assert.rejects(queue.add('events', [{ id: 'job', data: {}, runAt: Number.NaN }]), /Invalid runAt of job job/);
    await queue.close(0);
  } finally {
    await store.destroy();
  }
});

/**
 * Replaces a job while its first version runs, lets that run finish with `firstOutcome`, and
 * returns the job row once the consumer has settled the old claim.
 */
async function settleStaleClaim(firstOutcome: JobOutcome) {
  const store = await createTestStore();
  const { logger } = captureLogs();
  const queue = new EmbeddedQueue({ db: store.db, leaseMs: 300, pollIntervalMs: 100, logger });
  try {
    const firstRunReleased = createGate();
    const started: string[] = [];
    queue.consume<{ version: number }>(
      'events',
      async (job) => {
        started.push(job.id);
        if (job.id !== 'replaced') {
          return undefined;
        }
        await firstRunReleased.promise;
        return firstOutcome;
      },
      { concurrency: 1 },
    );

    await queue.add('events', [{ id: 'replaced', data: { version: 1 } }]);
    await waitFor('the first version to start', () => started.length === 1);
    const replacedRunAt = Date.now() + 30_000;
    await queue.add('events', [{ id: 'replaced', data: { version: 2 }, runAt: replacedRunAt }]);
    await queue.add('events', [{ id: 'sentinel', data: {} }]);

    // With one slot, the sentinel starts only after the old claim has been settled.
    firstRunReleased.open();
    await waitFor('the sentinel to run', () => started.includes('sentinel'));

    const row = await store.db.selectFrom('job').selectAll().where('id', '=', 'replaced').executeTakeFirst();
    return { row, replacedRunAt };
  } finally {
    await queue.close(0);
    await store.destroy();
  }
}

test('EmbeddedQueue stale completion keeps the newer version', async () => {
  const { row, replacedRunAt } = await settleStaleClaim(undefined);

  assert.ok(row, 'completing the old claim deleted the replaced job');
  assert.equal(row.run_at, replacedRunAt);
  assert.deepEqual(JSON.parse(row.data), { version: 2 });
});

test('EmbeddedQueue stale retry keeps the newer version', async () => {
  const { row, replacedRunAt } = await settleStaleClaim({ retryAt: Date.now() + 60_000 });

  assert.ok(row, 'the replaced job is missing');
  assert.equal(row.run_at, replacedRunAt);
  assert.deepEqual(JSON.parse(row.data), { version: 2 });
  assert.equal(row.lease_owner, null);
});

/**
 * Runs two versions of one job side by side in one consumer, so both leases have the same
 * owner, and lets the first finish with `firstOutcome` while the second still runs. Returns
 * the queue counts at that point, which must show the second version still active.
 */
async function settleStaleClaimBesideNewer(firstOutcome: JobOutcome) {
  const store = await createTestStore();
  const { logger } = captureLogs();
  const queue = new EmbeddedQueue({ db: store.db, leaseMs: 300, pollIntervalMs: 100, logger });
  try {
    const gates = new Map([
      [1, createGate()],
      [2, createGate()],
    ]);
    const started: string[] = [];
    const retryAt = Date.now() + 60_000;
    queue.consume<{ version: number }>(
      'events',
      async (job) => {
        started.push(`${job.id}:${job.data.version}`);
        if (job.id !== 'replaced') {
          return undefined;
        }
        await gates.get(job.data.version)?.promise;
        return job.data.version === 2 ? { retryAt } : firstOutcome;
      },
      { concurrency: 2 },
    );

    await queue.add('events', [{ id: 'replaced', data: { version: 1 } }]);
    await waitFor('the first version to start', () => started.length === 1);
    await queue.add('events', [{ id: 'replaced', data: { version: 2 } }]);
    await waitFor('the second version to start beside the first', () => started.length === 2);
    await queue.add('events', [{ id: 'sentinel', data: { version: 0 } }]);

    gates.get(1)?.open();
    await waitFor('the sentinel to run in the freed slot', () => started.includes('sentinel:0'));
    const countsAfterStaleClaim = await queue.counts('events');

    gates.get(2)?.open();
    await waitFor('the second version to be rescheduled', async () => (await queue.counts('events')).delayed === 1);
    const row = await store.db.selectFrom('job').selectAll().where('id', '=', 'replaced').executeTakeFirstOrThrow();
    return { countsAfterStaleClaim, row, retryAt };
  } finally {
    await queue.close(0);
    await store.destroy();
  }
}

test('EmbeddedQueue stale completion spares same-owner claim', async () => {
  const { countsAfterStaleClaim, row, retryAt } = await settleStaleClaimBesideNewer(undefined);

  assert.deepEqual(countsAfterStaleClaim, { waiting: 0, delayed: 0, active: 1 });
  assert.equal(row.run_at, retryAt);
  assert.deepEqual(JSON.parse(row.data), { version: 2 });
});

test('EmbeddedQueue stale retry spares same-owner claim', async () => {
  const { countsAfterStaleClaim, row, retryAt } = await settleStaleClaimBesideNewer({ retryAt: Date.now() + 10_000 });

  assert.deepEqual(countsAfterStaleClaim, { waiting: 0, delayed: 0, active: 1 });
  assert.equal(row.run_at, retryAt);
  assert.deepEqual(JSON.parse(row.data), { version: 2 });
});

test('EmbeddedQueue drains many jobs without polling', async () => {
  const store = await createTestStore();
  const { logger } = captureLogs();
  const queue = new EmbeddedQueue({ db: store.db, leaseMs: 30_000, pollIntervalMs: 60_000, logger });
  try {
    const total = 2_000;
    let finished = 0;
    queue.consume(
      'webhooks',
      async () => {
        finished += 1;
      },
      { concurrency: 50 },
    );
    await queue.add(
      'webhooks',
      Array.from({ length: total }, (_, index) => ({ id: `bulk-${index}`, data: { index } })),
    );

    await waitFor('every job to run', () => finished === total, 20_000);
    await waitFor('every job to be deleted', async () => (await queue.counts('webhooks')).active === 0);
    assert.deepEqual(await queue.counts('webhooks'), { waiting: 0, delayed: 0, active: 0 });
  } finally {
    await queue.close(0);
    await store.destroy();
  }
});

test('group commit add starts jobs with local records', async () => {
  const store = await createTestStore();
  const { logger } = captureLogs();
  const committer = new GroupCommitter(store.db);
  const queue = new EmbeddedQueue({ db: store.db, leaseMs: 30_000, pollIntervalMs: 60_000, logger, commit: (work) => committer.run(work) });
  try {
    const seen: { local: unknown; rowVisible: boolean }[] = [];
    queue.consume(
      'webhooks',
      async (job) => {
        const row = await store.db.selectFrom('job').select('lease_owner').where('id', '=', job.id).executeTakeFirst();
        seen.push({ local: job.local, rowVisible: row?.lease_owner !== undefined && row.lease_owner !== null });
      },
      { concurrency: 2 },
    );

    await committer.run((transaction) => queue.addInTransaction(transaction, 'webhooks', [{ id: 'handed-over', data: {}, local: { marker: 1 } }]));
    queue.notify('webhooks');

    await waitFor('the handed-over job to run', () => seen.length === 1);
    assert.deepEqual(seen[0]?.local, { marker: 1 });
    assert.equal(seen[0]?.rowVisible, true, 'the job row was committed, claimed, before the handler ran');
    await waitFor('the job to be deleted', async () => (await queue.counts('webhooks')).active === 0);
  } finally {
    await queue.close(0);
    await store.destroy();
  }
});

test('rolled back group add frees its slot', async () => {
  const store = await createTestStore();
  const { logger } = captureLogs();
  const committer = new GroupCommitter(store.db);
  const queue = new EmbeddedQueue({ db: store.db, leaseMs: 30_000, pollIntervalMs: 60_000, logger, commit: (work) => committer.run(work) });
  try {
    const ran: string[] = [];
    queue.consume(
      'webhooks',
      async (job) => {
        ran.push(job.id);
      },
      { concurrency: 1 },
    );

    const rolledBack = committer.run(async (transaction) => {
      await queue.addInTransaction(transaction, 'webhooks', [{ id: 'rolled-back', data: {} }]);
      throw new Error('the unit fails after adding its job');
    });
    await assert.rejects(rolledBack, /the unit fails/);

    // With one slot, a slot kept by the rolled-back job would leave this one waiting forever.
    await committer.run((transaction) => queue.addInTransaction(transaction, 'webhooks', [{ id: 'committed', data: {} }]));
    queue.notify('webhooks');
    await waitFor('the committed job to run', () => ran.length === 1);
    assert.deepEqual(ran, ['committed']);
  } finally {
    await queue.close(0);
    await store.destroy();
  }
});
