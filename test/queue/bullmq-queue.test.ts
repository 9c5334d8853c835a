import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue as BullQueue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Job, Queue } from '../../src/queue/contract.js';
import { BullmqQueue, type BullmqQueueOptions } from '../../src/queue/bullmq-queue.js';
import { ScheduledPromoter } from '../../src/queue/bullmq-promoter.js';
import { encodeExtras } from '../../src/queue/bullmq-scheduled.js';
import { ErrorLogThrottle } from '../../src/queue/error-log-throttle.js';
import { checkRedisPolicy } from '../../src/queue/redis-policy.js';
import { openPostgres } from '../../src/store/postgres.js';
import type { Database } from '../../src/store/schema.js';
import { deleteKeys, redisUnavailable, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { storeDrivers, testDatabaseUrl, type StoreDriver, type TestStore } from '../helpers/store.js';
import {
  captureLogs,
  createGate,
  describeQueueConformance,
  waitFor,
  type CreateQueueUnderTest,
  type QueueTestOptions,
} from './queue-conformance.js';

interface OpenedQueue {
  queue: BullmqQueue;
  /** Every Redis connection the queue opened itself; BullMQ's blocking copies are not among them. */
  connections: Redis[];
}

/** Turns a test prefix such as `hookline-test-ab12:` into a BullMQ prefix, whose keys then start with the test prefix. */
function bullmqPrefix(prefix: string): string {
  return prefix.replace(/:$/, '');
}

function openQueue(options: Omit<BullmqQueueOptions, 'createRedis'>): OpenedQueue {
  const connections: Redis[] = [];
  const queue = new BullmqQueue({
    ...options,
    createRedis: (url, redisOptions) => {
      const redis = new Redis(url, redisOptions);
      connections.push(redis);
      return redis;
    },
  });
  return { queue, connections };
}

/** Options of a queue on the shared test Redis with compressed times. */
function queueOptions(db: Kysely<Database>, prefix: string, logger: Logger, overrides: Partial<BullmqQueueOptions> = {}): BullmqQueueOptions {
  return {
    connections: { events: testRedisUrl, webhooks: testRedisUrl },
    prefix: bullmqPrefix(prefix),
    db,
    lockDurationMs: 300,
    stalledIntervalMs: 100,
    logger,
    relay: { intervalMs: 100, maxBackoffMs: 500, batchSize: 100 },
    ...overrides,
  };
}

function conformanceFactory(createStore: () => Promise<TestStore>): CreateQueueUnderTest {
  return async (options: QueueTestOptions) => {
    const store = await createStore();
    const prefix = uniquePrefix();
    const queues: Queue[] = [];

    function open(settings: QueueTestOptions): OpenedQueue {
      const opened = openQueue({
        ...queueOptions(store.db, prefix, settings.logger),
        lockDurationMs: settings.leaseMs,
        stalledIntervalMs: Math.max(20, Math.floor(settings.leaseMs / 3)),
        relay: { intervalMs: settings.pollIntervalMs, maxBackoffMs: 1_000, batchSize: 100 },
      });
      queues.push(opened.queue);
      return opened;
    }

    return {
      queue: open(options).queue,
      db: store.db,
      async openProcess(overrides = {}) {
        const opened = open({ ...options, ...overrides });
        return {
          queue: opened.queue,
          async kill() {
            // Cuts the connections without QUIT, so locks are neither renewed nor released.
            for (const redis of opened.connections) {
              redis.disconnect();
            }
          },
        };
      },
      async destroy() {
        await Promise.all(queues.map((queue) => queue.close(0)));
        await deleteKeys(prefix);
        await store.destroy();
      },
    };
  };
}

/** Runs `body` with a store of `driver`, a unique Redis prefix and a log capture, and cleans all up. */
async function withStore(
  driver: StoreDriver,
  body: (context: { store: TestStore; prefix: string; logs: ReturnType<typeof captureLogs> }) => Promise<void>,
): Promise<void> {
  const store = await driver.create();
  const prefix = uniquePrefix();
  try {
    await body({ store, prefix, logs: captureLogs() });
  } finally {
    await deleteKeys(prefix);
    await store.destroy();
  }
}

async function outboxSize(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number | string>().as('rows')).executeTakeFirstOrThrow();
  return Number(row.rows);
}

async function isEmpty(queue: Queue, name: 'events' | 'webhooks' = 'events'): Promise<boolean> {
  const counts = await queue.counts(name);
  return counts.waiting === 0 && counts.delayed === 0 && counts.active === 0;
}

const sqlite = storeDrivers.find((driver) => driver.name === 'sqlite') as StoreDriver;
const redisReason = await redisUnavailable();

if (redisReason !== undefined) {
  test(`bullmq queue skipped: ${redisReason}`, { skip: redisReason }, () => {});
} else {
  describeQueueConformance('bullmq', conformanceFactory(sqlite.create));

  describe('bullmq on postgres', async () => {
    const postgres = storeDrivers.find((driver) => driver.name === 'postgres') as StoreDriver;
    const reason = await postgres.unavailable();
    if (reason !== undefined) {
      test(`skipped: ${reason}`, { skip: reason }, () => {});
      return;
    }
    describeQueueConformance('bullmq on postgres', conformanceFactory(postgres.create));
  });

  for (const driver of storeDrivers) {
    describe(`outbox relay on ${driver.name}`, async () => {
      const reason = await driver.unavailable();
      if (reason !== undefined) {
        test(`skipped: ${reason}`, { skip: reason }, () => {});
        return;
      }

      test('relay moves outbox rows and deletes them', () =>
        withStore(driver, async ({ store, prefix, logs }) => {
          const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
          try {
            await store.db.transaction().execute(async (transaction) => {
              await queue.addInTransaction(transaction, 'events', [
                { id: 'msg_1', data: { msgId: 'msg_1' } },
                { id: 'msg_2', data: { msgId: 'msg_2' }, runAt: Date.now() + 60_000 },
              ]);
              await queue.addInTransaction(transaction, 'webhooks', [{ id: 'dlv_1', data: { deliveryId: 'dlv_1', trigger: 0 } }]);
            });
            assert.equal(await outboxSize(store.db), 3);
            queue.notify('events');

            await waitFor('the outbox to be empty', async () => (await outboxSize(store.db)) === 0);
            assert.deepEqual(await queue.counts('events'), { waiting: 1, delayed: 1, active: 0 });
            assert.deepEqual(await queue.counts('webhooks'), { waiting: 1, delayed: 0, active: 0 });
          } finally {
            await queue.close(0);
          }
        }));

      test('two relays neither lose nor repeat jobs', () =>
        withStore(driver, async ({ store, prefix, logs }) => {
          // On PostgreSQL the second relay has a pool of its own, as another process would.
          // On SQLite it shares the connection: better-sqlite3 waits for a lock held by
          // another connection synchronously, which in one process would also stall the
          // relay that holds the lock while it waits for Redis.
          const second = driver.name === 'sqlite' ? store.db : (await openPostgres(testDatabaseUrl, { poolSize: 4, schema: store.path })).db;
          const relays = [
            openQueue(queueOptions(store.db, prefix, logs.logger, { relay: { intervalMs: 60_000, batchSize: 25 } })).queue,
            openQueue(queueOptions(second, prefix, logs.logger, { relay: { intervalMs: 60_000, batchSize: 25 } })).queue,
          ];
          const runs = new Map<string, number>();
          const consumer = relays[0]?.consume(
            'webhooks',
            async (job) => {
              runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
            },
            { concurrency: 20 },
          );
          try {
            const total = 600;
            await store.db.transaction().execute(async (transaction) => {
              const jobs = Array.from({ length: total }, (_, index) => ({ id: `dlv_${index}`, data: { deliveryId: `dlv_${index}`, trigger: 0 } }));
              await relays[0]?.addInTransaction(transaction, 'webhooks', jobs);
            });
            for (const relay of relays) {
              relay.notify('webhooks');
            }

            await waitFor('every job to run', () => runs.size === total, 20_000);
            await waitFor('the outbox and the queue to be empty', async () => (await outboxSize(store.db)) === 0 && (await isEmpty(relays[1] as Queue, 'webhooks')));
            // Time for a late duplicate to show up.
            await delay(300);
            const repeated = [...runs].filter(([, count]) => count !== 1);
            assert.deepEqual(repeated, []);
            assert.equal(runs.size, total);
          } finally {
            await consumer?.close(0);
            await Promise.all(relays.map((relay) => relay.close(0)));
            if (second !== store.db) {
              await second.destroy();
            }
          }
        }));
    });
  }

  test('relay retries while Redis is down', async () => {
    const server = await startRedisServer();
    await withStore(sqlite, async ({ store, prefix, logs }) => {
      const { queue } = openQueue(
        queueOptions(store.db, prefix, logs.logger, {
          connections: { events: server.url, webhooks: server.url },
          relay: { intervalMs: 100, maxBackoffMs: 200, batchSize: 100 },
        }),
      );
      const ran: string[] = [];
      queue.consume(
        'events',
        async (job) => {
          ran.push(job.id);
        },
        { concurrency: 5 },
      );
      try {
        await queue.add('events', [{ id: 'before', data: {} }]);
        await waitFor('the job added before the outage to run', () => ran.length === 1);

        await server.stop();
        const jobs = Array.from({ length: 5 }, (_, index) => ({ id: `during-${index}`, data: { index } }));
        await store.db.transaction().execute(async (transaction) => {
          await queue.addInTransaction(transaction, 'events', jobs);
        });
        queue.notify('events');

        const retries = () => logs.entries.filter((entry) => entry.level === 40 && typeof entry.failures === 'number');
        await waitFor('the relay to log two retries', () => retries().length >= 2);
        assert.equal(await outboxSize(store.db), 5, 'rows left the outbox while Redis was down');
        assert.deepEqual(
          retries().map((entry) => entry.failures).slice(0, 2),
          [1, 2],
        );

        await server.start();
        await waitFor('every job added during the outage to run', () => ran.length === 6, 20_000);
        assert.deepEqual(ran.slice(1).sort(), jobs.map((job) => job.id).sort());
        assert.equal(await outboxSize(store.db), 0);
        assert.ok(logs.entries.some((entry) => entry.level === 30 && /recovered/.test(String(entry.msg))), 'no line says the relay recovered');
      } finally {
        await queue.close(0);
      }
    }).finally(() => server.stop());
  });

  test('close returns while Redis is down', async () => {
    const server = await startRedisServer();
    await withStore(sqlite, async ({ store, prefix, logs }) => {
      const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger, { connections: { events: server.url, webhooks: server.url } }));
      const started = createGate();
      const finish = createGate();
      queue.consume(
        'events',
        async () => {
          started.open();
          await finish.promise;
        },
        { concurrency: 2 },
      );
      await queue.add('events', [{ id: 'in-flight', data: {} }]);
      await started.promise;

      await server.stop();
      finish.open();
      const closeStartedAt = Date.now();
      await queue.close(100);

      // The close deadline, plus at most the lock duration of 300 ms to write outcomes.
      const elapsedMs = Date.now() - closeStartedAt;
      assert.ok(elapsedMs < 2_000, `close took ${elapsedMs} ms while Redis was down`);
      assert.ok(
        logs.entries.some((entry) => entry.level === 40 && /did not close in time/.test(String(entry.msg))),
        'no warning says the worker was left behind',
      );
    }).finally(() => server.stop());
  });

  test('checkRedisPolicy rejects allkeys-lru', async () => {
    const server = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
    try {
      await assert.rejects(checkRedisPolicy(server.url), /maxmemory-policy allkeys-lru.*maxmemory-policy noeviction/);
    } finally {
      await server.stop();
    }
  });

  test('checkRedisPolicy reads INFO without CONFIG', async () => {
    const server = await startRedisServer(['--maxmemory-policy', 'volatile-ttl', '--rename-command', 'CONFIG', '']);
    try {
      await assert.rejects(checkRedisPolicy(server.url), /maxmemory-policy volatile-ttl/);
    } finally {
      await server.stop();
    }
  });

  test('checkRedisPolicy accepts noeviction', async () => {
    const server = await startRedisServer(['--maxmemory-policy', 'noeviction']);
    try {
      assert.equal(await checkRedisPolicy(server.url), 'noeviction');
    } finally {
      await server.stop();
    }
  });

  test('checkRedisPolicy names an unreachable server', async () => {
    const server = await startRedisServer();
    await server.stop();
    await assert.rejects(checkRedisPolicy(`redis://:hunter2@127.0.0.1:${server.port}`), (error: Error) => {
      assert.match(error.message, /Could not connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });

  test('completed jobs leave no keys behind', () =>
    withStore(sqlite, async ({ store, prefix, logs }) => {
      const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
      const retried = new Set<string>();
      let finished = 0;
      queue.consume(
        'events',
        async (job) => {
          if (job.id.endsWith('-retried') && !retried.has(job.id)) {
            retried.add(job.id);
            return { retryAt: Date.now() + 50 };
          }
          finished += 1;
          return undefined;
        },
        { concurrency: 5 },
      );
      const ids = Array.from({ length: 20 }, (_, index) => (index % 4 === 0 ? `job-${index}-retried` : `job-${index}`));
      try {
        await queue.add(
          'events',
          ids.map((id) => ({ id, data: { id } })),
        );
        await waitFor('every job to finish', async () => finished === ids.length && (await isEmpty(queue)));

        const redis = new Redis(testRedisUrl);
        try {
          const keys = await redis.keys(`${prefix}*`);
          const jobKeys = keys.filter((key) => ids.some((id) => key.includes(id)));
          assert.deepEqual(jobKeys, []);
          assert.equal(await redis.zcard(`${bullmqPrefix(prefix)}:events:completed`), 0);
        } finally {
          redis.disconnect();
        }
      } finally {
        await queue.close(0);
      }
    }));

  test('failed, stalled and error events are logged', () =>
    withStore(sqlite, async ({ store, prefix, logs }) => {
      const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
      const release = createGate();
      const runs: Job<unknown>[] = [];
      queue.consume(
        'events',
        async (job) => {
          runs.push(job);
          if (job.id === 'failing' && job.attempts === 1) {
            throw new Error('store unavailable');
          }
          if (job.id === 'stalling') {
            await release.promise;
          }
        },
        { concurrency: 3 },
      );
      const redis = new Redis(testRedisUrl);
      try {
        await queue.add('events', [
          { id: 'failing', data: {} },
          { id: 'stalling', data: {} },
        ]);
        await waitFor('both jobs to start', () => runs.length >= 2);
        // A lost lock is what a stalled job looks like: the lock renewal fails and the
        // stalled check returns the job to the queue.
        await redis.del(`${bullmqPrefix(prefix)}:events:stalling:lock`);

        const find = (level: number, jobId: string) => logs.entries.find((entry) => entry.level === level && entry.jobId === jobId && entry.queue === 'events');
        await waitFor('the failure to be logged', () => find(50, 'failing') !== undefined);
        await waitFor('the stall to be logged', () => find(40, 'stalling') !== undefined);
        await waitFor('the lock renewal error to be logged', () =>
          logs.entries.some(
            (entry) => entry.level === 50 && entry.queue === 'events' && /could not renew lock for job stalling/.test(String((entry.err as { message?: string } | undefined)?.message)),
          ),
        );
        assert.match(String((find(50, 'failing')?.err as { message?: string } | undefined)?.message), /store unavailable/);
        assert.equal(find(50, 'failing')?.backoffMs, 1_000);
      } finally {
        release.open();
        redis.disconnect();
        await queue.close(0);
      }
    }));

  describe('replacing a running job', () => {
    async function withRunningJob(
      firstOutcome: { retryAt: number } | undefined,
      body: (context: { queue: BullmqQueue; runs: Job<{ version: number }>[]; finishFirst: () => void }) => Promise<void>,
    ): Promise<void> {
      await withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const first = createGate();
        const runs: Job<{ version: number }>[] = [];
        queue.consume<{ version: number }>(
          'events',
          async (job) => {
            runs.push(job);
            if (runs.length === 1) {
              await first.promise;
              return firstOutcome;
            }
            return undefined;
          },
          { concurrency: 2 },
        );
        try {
          await queue.add('events', [{ id: 'replaced', data: { version: 1 } }]);
          await waitFor('the first version to start', () => runs.length === 1);
          await body({ queue, runs, finishFirst: first.open });
        } finally {
          first.open();
          await queue.close(0);
        }
      });
    }

    test('new version runs after the run ends', () =>
      withRunningJob(undefined, async ({ queue, runs, finishFirst }) => {
        await queue.add('events', [{ id: 'replaced', data: { version: 2 } }]);
        assert.deepEqual(await queue.counts('events'), { waiting: 1, delayed: 0, active: 1 });
        await delay(250);
        assert.equal(runs.length, 1, 'the new version ran beside the old one');

        finishFirst();
        await waitFor('the new version to run', () => runs.length === 2);
        assert.deepEqual(runs[1]?.data, { version: 2 });
        await waitFor('the queue to be empty', () => isEmpty(queue));
      }));

    test('new version overrides the retryAt of the run', () =>
      withRunningJob({ retryAt: Date.now() + 60_000 }, async ({ queue, runs, finishFirst }) => {
        await queue.add('events', [{ id: 'replaced', data: { version: 2 } }]);
        finishFirst();

        await waitFor('the new version to run long before the retryAt', () => runs.length === 2);
        assert.deepEqual(runs[1]?.data, { version: 2 });
        await waitFor('the queue to be empty', () => isEmpty(queue));
      }));

    test('same data as the run changes nothing', () =>
      withRunningJob(undefined, async ({ queue, runs, finishFirst }) => {
        await queue.add('events', [{ id: 'replaced', data: { version: 1 } }]);
        assert.deepEqual(await queue.counts('events'), { waiting: 0, delayed: 0, active: 1 });

        finishFirst();
        await waitFor('the queue to be empty', () => isEmpty(queue));
        // Several replacement passes of 100 ms.
        await delay(400);
        assert.equal(runs.length, 1);
      }));
  });

  test('queues on two Redis servers stay apart', async () => {
    const server = await startRedisServer();
    try {
      await withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger, { connections: { events: testRedisUrl, webhooks: server.url } }));
        const ran: string[] = [];
        try {
          await queue.add('events', [{ id: 'on-shared', data: {} }]);
          await queue.add('webhooks', [{ id: 'on-own', data: {} }]);

          const own = new Redis(server.url);
          const shared = new Redis(testRedisUrl);
          try {
            assert.equal(await shared.exists(`${bullmqPrefix(prefix)}:events:on-shared`), 1);
            assert.equal(await shared.exists(`${bullmqPrefix(prefix)}:webhooks:on-own`), 0);
            assert.equal(await own.exists(`${bullmqPrefix(prefix)}:webhooks:on-own`), 1);
            assert.equal(await own.exists(`${bullmqPrefix(prefix)}:events:on-shared`), 0);
          } finally {
            own.disconnect();
            shared.disconnect();
          }

          for (const name of ['events', 'webhooks'] as const) {
            queue.consume(
              name,
              async (job) => {
                ran.push(job.id);
              },
              { concurrency: 1 },
            );
          }
          await waitFor('both jobs to run', () => ran.length === 2);
          assert.deepEqual(ran.sort(), ['on-own', 'on-shared']);
        } finally {
          await queue.close(0);
        }
      });
    } finally {
      await server.stop();
    }
  });

  test('ids that clash with BullMQ run unchanged', () =>
    withStore(sqlite, async ({ store, prefix, logs }) => {
      const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
      const ids = ['42', 'meta', 'wait', '~tilde'];
      const ran: string[] = [];
      try {
        await queue.add('events', [...ids, 'removed'].map((id) => ({ id, data: { id } })));
        await queue.remove('events', 'removed');
        queue.consume(
          'events',
          async (job) => {
            ran.push(job.id);
            assert.deepEqual(job.data, { id: job.id });
          },
          { concurrency: 1 },
        );

        await waitFor('every job to run', async () => ran.length === ids.length && (await isEmpty(queue)));
        assert.deepEqual(ran, ids);
      } finally {
        await queue.close(0);
      }
    }));

  test('ensure adds only missing jobs', () =>
    withStore(sqlite, async ({ store, prefix, logs }) => {
      const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
      const redis = new Redis(testRedisUrl);
      try {
        await queue.add('events', [{ id: 'present', data: { version: 1 }, runAt: Date.now() + 60_000 }]);
        await queue.ensure('events', [
          { id: 'present', data: { version: 2 } },
          { id: 'missing', data: { version: 1 } },
        ]);

        assert.deepEqual(await queue.counts('events'), { waiting: 1, delayed: 1, active: 0 });
        // The delayed job waits in the scheduled set, with its data beside it.
        assert.equal(await redis.hget(`${bullmqPrefix(prefix)}:events:hookline:scheduled-data`, 'present'), '0|{"version":1}');
        assert.equal(await redis.hget(`${bullmqPrefix(prefix)}:events:missing`, 'data'), '{"version":1}');
      } finally {
        redis.disconnect();
        await queue.close(0);
      }
    }));

  test('BullmqQueue rejects invalid options and ids', () =>
    withStore(sqlite, async ({ store, prefix, logs }) => {
      assert.throws(() => openQueue(queueOptions(store.db, prefix, logs.logger, { lockDurationMs: 0 })), /Invalid lockDurationMs: 0/);
      assert.throws(() => openQueue(queueOptions(store.db, prefix, logs.logger, { relay: { batchSize: 0 } })), /Invalid relay.batchSize: 0/);

      const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
      try {
        assert.throws(() => queue.consume('events', async () => undefined, { concurrency: 0 }), /Invalid concurrency/);
        for (const id of ['', 'app:msg']) {
          await assert.rejects(queue.add('events', [{ id, data: {} }]), /Invalid job id/, `id ${JSON.stringify(id)} was accepted`);
        }
        await assert.rejects(queue.add('events', [{ id: 'job', data: {}, runAt: Number.NaN }]), /Invalid runAt of job job/);
        await assert.rejects(
          store.db.transaction().execute((transaction) => queue.addInTransaction(transaction, 'events', [{ id: 'a:b', data: {} }])),
          /Invalid job id: "a:b"/,
        );
      } finally {
        await queue.close(0);
      }
      await assert.rejects(queue.add('events', [{ id: 'late', data: {} }]), /queue is closed/);
    }));
  describe('scheduled set', () => {
    function scheduledKey(prefix: string, queue: 'events' | 'webhooks'): string {
      return `${bullmqPrefix(prefix)}:${queue}:hookline:scheduled`;
    }

    function scheduledDataKey(prefix: string, queue: 'events' | 'webhooks'): string {
      return `${bullmqPrefix(prefix)}:${queue}:hookline:scheduled-data`;
    }

    /** Opens a promoter of the webhooks queue on a connection of its own, as another process would. */
    function openPromoter(prefix: string, logger: Logger, batchSize: number): { promoter: ScheduledPromoter; close: () => Promise<void> } {
      const redis = new Redis(testRedisUrl);
      const bull = new BullQueue('webhooks', { connection: redis, prefix: bullmqPrefix(prefix) });
      const promoter = new ScheduledPromoter({
        queue: bull,
        redis,
        now: Date.now,
        intervalMs: 60_000,
        batchSize,
        logger,
        errors: new ErrorLogThrottle(logger),
      });
      return {
        promoter,
        async close() {
          await promoter.close();
          await bull.close();
          redis.disconnect();
        },
      };
    }

    test('retry waits in the set, then runs once', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const redis = new Redis(testRedisUrl);
        const runs: Job<unknown>[] = [];
        const firstDone = createGate();
        queue.consume(
          'webhooks',
          async (job) => {
            runs.push(job);
            if (runs.length === 1) {
              firstDone.open();
              return { retryAt: Date.now() + 400 };
            }
            return undefined;
          },
          { concurrency: 2 },
        );
        try {
          await queue.add('webhooks', [{ id: 'dlv_retried', data: { deliveryId: 'dlv_retried', trigger: 0 } }]);
          await firstDone.promise;
          await waitFor('the retry to be scheduled', async () => (await redis.zscore(scheduledKey(prefix, 'webhooks'), 'dlv_retried')) !== null);

          assert.equal(await redis.exists(`${bullmqPrefix(prefix)}:webhooks:dlv_retried`), 0, 'the BullMQ job was kept beside the member');
          assert.equal(await redis.zcard(`${bullmqPrefix(prefix)}:webhooks:delayed`), 0, 'the retry went to BullMQ delayed set');
          // One claim so far, and the data is the one the id implies, so only the count is stored.
          assert.equal(await redis.hget(scheduledDataKey(prefix, 'webhooks'), 'dlv_retried'), '1');
          assert.deepEqual(await queue.counts('webhooks'), { waiting: 0, delayed: 1, active: 0 });

          await waitFor('the retry to run', () => runs.length === 2);
          await waitFor('the queue to be empty', () => isEmpty(queue, 'webhooks'));
          // Several promotion passes of 100 ms for a late duplicate to show up.
          await delay(300);
          assert.equal(runs.length, 2);
          assert.equal(runs[1]?.attempts, 2);
          assert.deepEqual(runs[1]?.data, { deliveryId: 'dlv_retried', trigger: 0 });
          assert.equal(await redis.zcard(scheduledKey(prefix, 'webhooks')), 0);
          assert.equal(await redis.hlen(scheduledDataKey(prefix, 'webhooks')), 0);
        } finally {
          redis.disconnect();
          await queue.close(0);
        }
      }));

    test('retry keeps data that differs from the id', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const runs: Job<unknown>[] = [];
        const data = { deliveryId: 'dlv_traced', trigger: 1, trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } };
        queue.consume(
          'webhooks',
          async (job) => {
            runs.push(job);
            if (runs.length === 1) {
              throw new Error('store unavailable');
            }
            return runs.length === 2 ? { retryAt: Date.now() + 100 } : undefined;
          },
          { concurrency: 1 },
        );
        try {
          await queue.add('webhooks', [{ id: 'dlv_traced', data }]);
          await waitFor('the third run', () => runs.length === 3, 10_000);
          assert.deepEqual(runs[2]?.data, data);
          assert.equal(runs[2]?.attempts, 3);
          await waitFor('the queue to be empty', () => isEmpty(queue, 'webhooks'));
        } finally {
          await queue.close(0);
        }
      }));

    test('add replaces a scheduled job', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const redis = new Redis(testRedisUrl);
        try {
          const later = Date.now() + 60_000;
          await queue.add('events', [{ id: 'msg_1', data: { msgId: 'msg_1' }, runAt: later }]);
          await queue.add('events', [{ id: 'msg_1', data: { msgId: 'msg_1', version: 2 }, runAt: later + 1_000 }]);

          assert.equal(await redis.zscore(scheduledKey(prefix, 'events'), 'msg_1'), String(later + 1_000));
          assert.equal(await redis.hget(scheduledDataKey(prefix, 'events'), 'msg_1'), '0|{"msgId":"msg_1","version":2}');
          assert.deepEqual(await queue.counts('events'), { waiting: 0, delayed: 1, active: 0 });

          await queue.add('events', [{ id: 'msg_1', data: { msgId: 'msg_1', version: 3 } }]);
          assert.equal(await redis.zscore(scheduledKey(prefix, 'events'), 'msg_1'), null);
          assert.equal(await redis.hexists(scheduledDataKey(prefix, 'events'), 'msg_1'), 0);
          assert.deepEqual(await queue.counts('events'), { waiting: 1, delayed: 0, active: 0 });

          await queue.add('events', [{ id: 'msg_1', data: { msgId: 'msg_1' }, runAt: later }]);
          assert.equal(await redis.exists(`${bullmqPrefix(prefix)}:events:msg_1`), 0, 'the waiting version was kept');
          // The data is the one the id implies and there were no claims, so no field is stored.
          assert.equal(await redis.hexists(scheduledDataKey(prefix, 'events'), 'msg_1'), 0);
          assert.deepEqual(await queue.counts('events'), { waiting: 0, delayed: 1, active: 0 });

          await queue.remove('events', 'msg_1');
          assert.deepEqual(await queue.counts('events'), { waiting: 0, delayed: 0, active: 0 });
        } finally {
          redis.disconnect();
          await queue.close(0);
        }
      }));

    test('ensure keeps a scheduled job', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const redis = new Redis(testRedisUrl);
        try {
          const later = Date.now() + 60_000;
          await queue.add('webhooks', [{ id: 'dlv_1', data: { deliveryId: 'dlv_1', trigger: 1 }, runAt: later }]);

          const added = await queue.ensure('webhooks', [
            { id: 'dlv_1', data: { deliveryId: 'dlv_1', trigger: 0 } },
            { id: 'dlv_2', data: { deliveryId: 'dlv_2', trigger: 0 }, runAt: later },
          ]);
          assert.equal(added, 1);
          assert.equal(await redis.zscore(scheduledKey(prefix, 'webhooks'), 'dlv_1'), String(later));
          assert.equal(await redis.hget(scheduledDataKey(prefix, 'webhooks'), 'dlv_1'), '0|{"deliveryId":"dlv_1","trigger":1}');
          assert.equal(await redis.zscore(scheduledKey(prefix, 'webhooks'), 'dlv_2'), String(later));
          assert.deepEqual(await queue.counts('webhooks'), { waiting: 0, delayed: 2, active: 0 });
          assert.equal(await queue.ensure('webhooks', [{ id: 'dlv_2', data: { deliveryId: 'dlv_2', trigger: 0 } }]), 0);
        } finally {
          redis.disconnect();
          await queue.close(0);
        }
      }));

    test('due job counts as waiting until promoted', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        try {
          const runAt = Date.now() + 50;
          await queue.add('webhooks', [{ id: 'dlv_due', data: { deliveryId: 'dlv_due', trigger: 0 }, runAt }]);
          assert.equal(await queue.oldestWaitingDueAt('webhooks'), null);
          await delay(100);

          // No consumer runs, so no promoter moves the job.
          assert.deepEqual(await queue.counts('webhooks'), { waiting: 1, delayed: 0, active: 0 });
          assert.equal(await queue.oldestWaitingDueAt('webhooks'), runAt);
        } finally {
          await queue.close(0);
        }
      }));

    test('two promoters move each job once', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const promoters = [openPromoter(prefix, logs.logger, 40), openPromoter(prefix, logs.logger, 40)];
        const total = 400;
        const runs = new Map<string, number>();
        try {
          const runAt = Date.now() + 100;
          const ids = Array.from({ length: total }, (_, index) => `dlv_${index}`);
          await queue.add(
            'webhooks',
            ids.map((id) => ({ id, data: { deliveryId: id, trigger: 0 }, runAt })),
          );
          await delay(150);

          const results = await Promise.all(
            promoters.map(async ({ promoter }) => {
              let promoted = 0;
              for (;;) {
                const result = await promoter.promoteDue();
                promoted += result.promoted;
                if (result.read === 0) {
                  return promoted;
                }
              }
            }),
          );
          assert.equal((results[0] ?? 0) + (results[1] ?? 0), total);
          assert.deepEqual(await queue.counts('webhooks'), { waiting: total, delayed: 0, active: 0 });

          queue.consume(
            'webhooks',
            async (job) => {
              runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
            },
            { concurrency: 20 },
          );
          await waitFor('every job to run', async () => runs.size === total && (await isEmpty(queue, 'webhooks')), 20_000);
          await delay(300);
          assert.deepEqual(
            [...runs].filter(([, count]) => count !== 1),
            [],
          );
        } finally {
          await Promise.all(promoters.map((promoter) => promoter.close()));
          await queue.close(0);
        }
      }));

    test('member beside its job is not lost', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        // The state that a mover which died after adding the job to BullMQ and before
        // removing the member would leave: both exist. The job runs, and the member runs once
        // that job has ended, so the job runs twice but never zero times.
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const redis = new Redis(testRedisUrl);
        const runs: Job<unknown>[] = [];
        try {
          await queue.add('webhooks', [{ id: 'dlv_both', data: { deliveryId: 'dlv_both', trigger: 0 } }]);
          await redis.zadd(scheduledKey(prefix, 'webhooks'), Date.now() - 10, 'dlv_both');
          await redis.hset(scheduledDataKey(prefix, 'webhooks'), 'dlv_both', '1');

          const { promoter, close } = openPromoter(prefix, logs.logger, 10);
          try {
            assert.deepEqual(await promoter.promoteDue(), { read: 1, promoted: 0, kept: 1 });
          } finally {
            await close();
          }
          assert.equal(await redis.zcard(scheduledKey(prefix, 'webhooks')), 1);

          queue.consume(
            'webhooks',
            async (job) => {
              runs.push(job);
            },
            { concurrency: 1 },
          );
          await waitFor('both runs', () => runs.length === 2);
          await waitFor('the queue to be empty', () => isEmpty(queue, 'webhooks'));
          assert.deepEqual(
            runs.map((run) => run.attempts),
            [1, 2],
          );
          assert.equal(await redis.zcard(scheduledKey(prefix, 'webhooks')), 0);
        } finally {
          redis.disconnect();
          await queue.close(0);
        }
      }));

    test('promotion transaction is all or nothing', () =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        // A process that dies before EXEC leaves every member in place, so a later pass finds them.
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const redis = new Redis(testRedisUrl);
        const dying = openPromoter(prefix, logs.logger, 10);
        try {
          const runAt = Date.now() + 20;
          await queue.add('webhooks', [
            { id: 'dlv_a', data: { deliveryId: 'dlv_a', trigger: 0 }, runAt },
            { id: 'dlv_b', data: { deliveryId: 'dlv_b', trigger: 0 }, runAt },
          ]);
          await delay(50);

          const backend = (dying.promoter as unknown as { settings: { queue: BullQueue } }).settings.queue.getBackend();
          const client = await backend.client;
          const multi = client.multi.bind(client);
          client.multi = () => {
            const transaction = multi();
            transaction.exec = async () => {
              throw new Error('process killed before EXEC');
            };
            return transaction;
          };
          await assert.rejects(dying.promoter.promoteDue(), /process killed before EXEC/);
          assert.equal(await redis.zcard(scheduledKey(prefix, 'webhooks')), 2);
          assert.deepEqual(await queue.counts('webhooks'), { waiting: 2, delayed: 0, active: 0 });

          const { promoter, close } = openPromoter(prefix, logs.logger, 10);
          try {
            assert.deepEqual(await promoter.promoteDue(), { read: 2, promoted: 2, kept: 0 });
          } finally {
            await close();
          }
          assert.equal(await redis.zcard(scheduledKey(prefix, 'webhooks')), 0);
          assert.equal(await redis.llen(`${bullmqPrefix(prefix)}:webhooks:wait`), 2);
        } finally {
          await dying.close();
          redis.disconnect();
          await queue.close(0);
        }
      }));

    test('memory per scheduled job', (context) =>
      withStore(sqlite, async ({ store, prefix, logs }) => {
        // Writes scheduled jobs through the queue and, for retries, the same encoding the
        // consumer writes. Over 128 members, so Redis uses the encodings a large backlog gets.
        const { queue } = openQueue(queueOptions(store.db, prefix, logs.logger));
        const redis = new Redis(testRedisUrl);
        try {
          const count = 2_000;
          const runAt = Date.now() + 3_600_000;
          // Delivery ids have the length of real ones: `dlv_` and 26 characters.
          const ids = Array.from({ length: count }, (_, index) => `dlv_${String(index).padStart(26, '0')}`);
          await queue.add(
            'webhooks',
            ids.map((id, index) => ({ id, data: { deliveryId: id, trigger: 0 }, runAt: runAt + index })),
          );

          const usage = async (key: string) => Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
          const membersBytes = await usage(scheduledKey(prefix, 'webhooks'));

          // A retry after the first attempt stores its claim count beside the member.
          const pipeline = redis.pipeline();
          for (const id of ids) {
            pipeline.hset(scheduledDataKey(prefix, 'webhooks'), id, encodeExtras('webhooks', id, { attemptsStarted: 1, attemptsMade: 0, data: JSON.stringify({ deliveryId: id, trigger: 0 }) }));
          }
          await pipeline.exec();
          const extrasBytes = await usage(scheduledDataKey(prefix, 'webhooks'));

          const newJobBytes = membersBytes / count;
          const retryBytes = (membersBytes + extrasBytes) / count;
          context.diagnostic(`Redis bytes per scheduled job (MEMORY USAGE): ${newJobBytes.toFixed(0)} added with a future runAt, ${retryBytes.toFixed(0)} for a retry`);
          assert.ok(retryBytes < 300, `a scheduled retry takes ${retryBytes.toFixed(0)} bytes`);
        } finally {
          redis.disconnect();
          await queue.close(0);
        }
      }));
  });
}
