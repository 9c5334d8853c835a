import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { pino, type Logger } from 'pino';
import type { Job, JobHandler, Queue, QueueCounts } from '../../src/queue/contract.js';
import type { Database } from '../../src/store/schema.js';

export interface QueueTestOptions {
  leaseMs: number;
  pollIntervalMs: number;
  logger: Logger;
}

/** A queue opened as a separate process would open it. */
export interface QueueProcess {
  queue: Queue;
  /** Cuts the process off from the backend without closing its queue, as if the process was killed. */
  kill(): Promise<void>;
}

/** What a driver gives each conformance case: a queue on a new, empty backend. */
export interface QueueUnderTest {
  queue: Queue;
  /** The store whose transactions addInTransaction joins. */
  db: Kysely<Database>;
  /** Opens another queue on the same backend with its own connection. */
  openProcess(overrides?: Partial<QueueTestOptions>): Promise<QueueProcess>;
  /** Closes every queue opened for the case and deletes the backend. */
  destroy(): Promise<void>;
}

export type CreateQueueUnderTest = (options: QueueTestOptions) => Promise<QueueUnderTest>;

export interface LogCapture {
  logger: Logger;
  entries: Record<string, unknown>[];
}

/** Creates a debug-level pino logger that keeps its lines as parsed objects. */
export function captureLogs(): LogCapture {
  const entries: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        entries.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, entries };
}

/** Polls `condition` every 10 ms and fails the test if it is still false after `timeoutMs`. */
export async function waitFor(
  description: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      assert.fail(`Timed out after ${timeoutMs} ms waiting for ${description}.`);
    }
    await delay(10);
  }
}

export interface Gate {
  promise: Promise<void>;
  open(): void;
}

/** Creates a promise that handlers can wait on until the test opens it. */
export function createGate(): Gate {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

interface Run<T> {
  job: Job<T>;
  startedAt: number;
}

/** Creates a handler that records each run, then returns what `decide` returns for that run. */
function recordRuns<T>(decide: JobHandler<T> = async () => undefined): { runs: Run<T>[]; handler: JobHandler<T> } {
  const runs: Run<T>[] = [];
  const handler: JobHandler<T> = (job, signal) => {
    runs.push({ job, startedAt: Date.now() });
    return decide(job, signal);
  };
  return { runs, handler };
}

const empty: QueueCounts = { waiting: 0, delayed: 0, active: 0 };

async function isEmpty(queue: Queue): Promise<boolean> {
  const counts = await queue.counts('events');
  return counts.waiting === 0 && counts.delayed === 0 && counts.active === 0;
}

/**
 * Runs the cases every queue driver must pass. Times are compressed: leases of 300 ms and a
 * poll interval of 100 ms unless a case sets its own. Cases assert only that something
 * happened, or did not happen, before a point in time.
 */
export function describeQueueConformance(driverName: string, createQueue: CreateQueueUnderTest): void {
  const defaults = { leaseMs: 300, pollIntervalMs: 100 };

  async function withQueue(
    overrides: Partial<QueueTestOptions>,
    body: (subject: QueueUnderTest, logs: LogCapture) => Promise<void>,
  ): Promise<void> {
    const logs = captureLogs();
    const subject = await createQueue({ ...defaults, logger: logs.logger, ...overrides });
    try {
      await body(subject, logs);
    } finally {
      await subject.destroy();
    }
  }

  describe(`${driverName} queue conformance`, () => {
    test('delayed job runs at runAt, not before', () =>
      withQueue({}, async ({ queue }) => {
        const { runs, handler } = recordRuns();
        queue.consume('events', handler, { concurrency: 1 });

        const runAt = Date.now() + 400;
        await queue.add('events', [{ id: 'delayed', data: {}, runAt }]);

        await waitFor('the delayed job to run', () => runs.length === 1);
        const startedAt = runs[0]?.startedAt ?? 0;
        assert.ok(startedAt >= runAt, `the job ran ${runAt - startedAt} ms before its runAt`);
      }));

    test('replaced job runs once with latest data', () =>
      withQueue({}, async ({ queue }) => {
        await queue.add('events', [{ id: 'replaced', data: { version: 1 } }]);
        await queue.add('events', [{ id: 'replaced', data: { version: 2 } }]);
        const { runs, handler } = recordRuns<{ version: number }>();
        queue.consume('events', handler, { concurrency: 2 });

        await waitFor('the queue to be empty after the run', async () => runs.length > 0 && (await isEmpty(queue)));
        assert.equal(runs.length, 1);
        assert.deepEqual(runs[0]?.job.data, { version: 2 });
      }));

    test('repeated id in one add keeps the last', () =>
      withQueue({}, async ({ queue }) => {
        await queue.add('events', [
          { id: 'repeated', data: { version: 1 } },
          { id: 'repeated', data: { version: 2 } },
        ]);
        const { runs, handler } = recordRuns<{ version: number }>();
        queue.consume('events', handler, { concurrency: 2 });

        await waitFor('the queue to be empty after the run', async () => runs.length > 0 && (await isEmpty(queue)));
        assert.equal(runs.length, 1);
        assert.deepEqual(runs[0]?.job.data, { version: 2 });
      }));

    test('replacing delayed job with runAt now runs it now', () =>
      withQueue({}, async ({ queue }) => {
        const { runs, handler } = recordRuns<{ version: number }>();
        queue.consume('events', handler, { concurrency: 1 });

        await queue.add('events', [{ id: 'postponed', data: { version: 1 }, runAt: Date.now() + 60_000 }]);
        await queue.add('events', [{ id: 'postponed', data: { version: 2 } }]);

        await waitFor('the replaced job to run long before its first runAt', () => runs.length === 1);
        assert.deepEqual(runs[0]?.job.data, { version: 2 });
      }));

    test('job of a killed process runs after its lease ends', () =>
      withQueue({}, async (subject) => {
        const killed = await subject.openProcess({ pollIntervalMs: 50 });
        const claimed = createGate();
        killed.queue.consume(
          'events',
          () => {
            claimed.open();
            return new Promise(() => {});
          },
          { concurrency: 1 },
        );

        const addedAt = Date.now();
        await killed.queue.add('events', [{ id: 'orphaned', data: {} }]);
        await claimed.promise;
        await killed.kill();

        const { runs, handler } = recordRuns();
        subject.queue.consume('events', handler, { concurrency: 1 });

        await waitFor('the orphaned job to run again', () => runs.length === 1);
        assert.equal(runs[0]?.job.attempts, 2);
        const startedAt = runs[0]?.startedAt ?? 0;
        assert.ok(startedAt >= addedAt + defaults.leaseMs, 'the job ran again before its lease could end');
      }));

    test('long handler keeps its lease', () =>
      withQueue({}, async (subject) => {
        const other = await subject.openProcess({ pollIntervalMs: 50 });
        const { runs, handler } = recordRuns(async () => {
          await delay(defaults.leaseMs * 4);
        });
        subject.queue.consume('events', handler, { concurrency: 1 });
        other.queue.consume('events', handler, { concurrency: 1 });

        await subject.queue.add('events', [{ id: 'long', data: {} }]);

        await waitFor('the long job to finish', async () => runs.length > 0 && (await isEmpty(subject.queue)));
        assert.equal(runs.length, 1);
      }));

    test('concurrency bounds parallel handlers', () =>
      withQueue({}, async ({ queue }) => {
        const concurrency = 3;
        const allSlotsBusy = createGate();
        let running = 0;
        let maxRunning = 0;
        const { runs, handler } = recordRuns(async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          if (running === concurrency) {
            allSlotsBusy.open();
          }
          await allSlotsBusy.promise;
          await delay(10);
          running -= 1;
        });

        const jobs = Array.from({ length: 10 }, (_, index) => ({ id: `parallel-${index}`, data: {} }));
        await queue.add('events', jobs);
        queue.consume('events', handler, { concurrency });

        await waitFor('all jobs to run', async () => runs.length === jobs.length && (await isEmpty(queue)));
        assert.equal(maxRunning, concurrency);
      }));

    test('due jobs start in runAt order', () =>
      withQueue({}, async ({ queue }) => {
        const now = Date.now();
        await queue.add('events', [
          { id: 'third', data: {}, runAt: now - 1_000 },
          { id: 'first', data: {}, runAt: now - 3_000 },
          { id: 'second', data: {}, runAt: now - 2_000 },
        ]);
        const { runs, handler } = recordRuns();
        queue.consume('events', handler, { concurrency: 1 });

        await waitFor('all jobs to run', () => runs.length === 3);
        assert.deepEqual(
          runs.map((run) => run.job.id),
          ['first', 'second', 'third'],
        );
      }));

    test('retryAt outcome runs job again then', () =>
      withQueue({}, async ({ queue }) => {
        let retryAt = 0;
        const { runs, handler } = recordRuns(async () => {
          if (retryAt === 0) {
            retryAt = Date.now() + 300;
            return { retryAt };
          }
          return undefined;
        });
        queue.consume('events', handler, { concurrency: 1 });
        await queue.add('events', [{ id: 'retried', data: { attempt: 'same data' } }]);

        await waitFor('the retried job to finish', async () => runs.length === 2 && (await isEmpty(queue)));
        assert.equal(runs[0]?.job.attempts, 1);
        assert.equal(runs[1]?.job.attempts, 2);
        assert.deepEqual(runs[1]?.job.data, { attempt: 'same data' });
        const startedAt = runs[1]?.startedAt ?? 0;
        assert.ok(startedAt >= retryAt, `the retry ran ${retryAt - startedAt} ms before retryAt`);
      }));

    test('throwing handler is logged and retried', () =>
      withQueue({}, async ({ queue }, logs) => {
        const { runs, handler } = recordRuns(async () => {
          if (runs.length === 1) {
            throw new Error('store unavailable');
          }
        });
        queue.consume('events', handler, { concurrency: 1 });
        await queue.add('events', [{ id: 'failing', data: {} }]);

        await waitFor('the failed job to run again', () => runs.length === 2);
        assert.equal(runs[1]?.job.attempts, 2);
        const logged = logs.entries.find((entry) => entry.level === 50 && entry.jobId === 'failing' && entry.queue === 'events');
        assert.ok(logged, 'no error line names the job and its queue');
        assert.match(String((logged.err as { message?: string } | undefined)?.message), /store unavailable/);
      }));

    test('addInTransaction job runs after commit', () =>
      withQueue({}, async ({ queue, db }) => {
        const { runs, handler } = recordRuns();
        queue.consume('events', handler, { concurrency: 1 });

        await db.transaction().execute(async (transaction) => {
          await queue.addInTransaction(transaction, 'events', [{ id: 'committed', data: {} }]);
        });
        queue.notify('events');

        await waitFor('the committed job to run', () => runs.length === 1);
        assert.equal(runs[0]?.job.id, 'committed');
      }));

    test('addInTransaction rolled back adds nothing', () =>
      withQueue({}, async ({ queue, db }) => {
        await assert.rejects(
          db.transaction().execute(async (transaction) => {
            await queue.addInTransaction(transaction, 'events', [{ id: 'rolled-back', data: {} }]);
            throw new Error('roll back');
          }),
          /roll back/,
        );
        queue.notify('events');

        assert.deepEqual(await queue.counts('events'), empty);
      }));

    test('add wakes a sleeping consumer', () =>
      withQueue({ pollIntervalMs: 60_000 }, async ({ queue }) => {
        const { runs, handler } = recordRuns();
        queue.consume('events', handler, { concurrency: 1 });
        // Gives the consumer time to find the queue empty and go to sleep for the poll interval.
        await delay(100);

        await queue.add('events', [{ id: 'prompt', data: {} }]);
        await waitFor('the added job to run long before the next poll', () => runs.length === 1);
      }));

    test('notify wakes a sleeping consumer', () =>
      withQueue({ pollIntervalMs: 60_000 }, async ({ queue, db }) => {
        const { runs, handler } = recordRuns();
        queue.consume('events', handler, { concurrency: 1 });
        await delay(100);

        await db.transaction().execute(async (transaction) => {
          await queue.addInTransaction(transaction, 'events', [{ id: 'notified', data: {} }]);
        });
        queue.notify('events');
        await waitFor('the committed job to run long before the next poll', () => runs.length === 1);
      }));

    test('delayed job runs on time without a poll', () =>
      withQueue({ pollIntervalMs: 60_000 }, async ({ queue }) => {
        let retryAt = 0;
        const { runs, handler } = recordRuns(async (job) => {
          if (job.id === 'retried' && retryAt === 0) {
            retryAt = Date.now() + 200;
            return { retryAt };
          }
          return undefined;
        });
        queue.consume('events', handler, { concurrency: 1 });
        await delay(100);

        await queue.add('events', [{ id: 'delayed', data: {}, runAt: Date.now() + 200 }]);
        await queue.add('events', [{ id: 'retried', data: {} }]);

        await waitFor('the delayed and the retried job to finish', async () => runs.length === 3 && (await isEmpty(queue)));
      }));

    test('close waits for a running handler', () =>
      withQueue({}, async (subject) => {
        const { queue } = subject;
        const started = createGate();
        let finished = false;
        queue.consume(
          'events',
          async () => {
            started.open();
            await delay(200);
            finished = true;
          },
          { concurrency: 1 },
        );
        await queue.add('events', [{ id: 'running', data: {} }]);
        await started.promise;

        await queue.close(5_000);
        assert.equal(finished, true);
        // Counted through a new queue, because a closed queue may have released its connections.
        const next = await subject.openProcess();
        assert.deepEqual(await next.queue.counts('events'), empty);
      }));

    test('close aborts a handler past the deadline', () =>
      withQueue({}, async (subject) => {
        // A lease far longer than the case, so only a released job can run again in time.
        const stopping = await subject.openProcess({ leaseMs: 60_000 });
        const started = createGate();
        let signal: AbortSignal | undefined;
        stopping.queue.consume(
          'events',
          (_job, jobSignal) => {
            signal = jobSignal;
            started.open();
            return new Promise(() => {});
          },
          { concurrency: 1 },
        );
        await stopping.queue.add('events', [{ id: 'stuck', data: {} }]);
        await started.promise;

        await stopping.queue.close(100);
        assert.equal(signal?.aborted, true);

        const next = await subject.openProcess();
        const { runs, handler } = recordRuns();
        next.queue.consume('events', handler, { concurrency: 1 });
        await waitFor('the aborted job to run on a new queue', () => runs.length === 1);
        assert.equal(runs[0]?.job.attempts, 1, 'the aborted run counted as an attempt');
      }));

    test('counts reports waiting, delayed and active', () =>
      withQueue({}, async ({ queue }) => {
        await queue.add('events', [
          { id: 'due-1', data: {} },
          { id: 'due-2', data: {} },
          { id: 'later', data: {}, runAt: Date.now() + 60_000 },
        ]);
        assert.deepEqual(await queue.counts('events'), { waiting: 2, delayed: 1, active: 0 });
        assert.deepEqual(await queue.counts('webhooks'), empty);

        const release = createGate();
        const { runs, handler } = recordRuns(() => release.promise);
        queue.consume('events', handler, { concurrency: 1 });
        await waitFor('one job to start', () => runs.length === 1);
        assert.deepEqual(await queue.counts('events'), { waiting: 1, delayed: 1, active: 1 });

        release.open();
        await waitFor('the due jobs to finish', async () => {
          const counts = await queue.counts('events');
          return counts.waiting === 0 && counts.active === 0;
        });
        assert.deepEqual(await queue.counts('events'), { waiting: 0, delayed: 1, active: 0 });
      }));

    test('oldestWaitingDueAt reports the oldest due job', () =>
      withQueue({}, async ({ queue }) => {
        assert.equal(await queue.oldestWaitingDueAt('events'), null);
        await queue.add('events', [{ id: 'later', data: {}, runAt: Date.now() + 60_000 }]);
        assert.equal(await queue.oldestWaitingDueAt('events'), null, 'a delayed job is not waiting');

        const beforeFirst = Date.now();
        await queue.add('events', [{ id: 'first', data: {} }]);
        const afterFirst = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 50));
        await queue.add('events', [{ id: 'second', data: {} }]);
        const oldest = await queue.oldestWaitingDueAt('events');
        assert.ok(oldest !== null, 'two jobs wait');
        assert.ok(oldest >= beforeFirst - 5, `oldest due at ${oldest}, first added at or after ${beforeFirst}`);
        assert.ok(oldest <= afterFirst + 5, `oldest due at ${oldest}, first added at or before ${afterFirst}`);
        assert.equal(await queue.oldestWaitingDueAt('webhooks'), null);

        const release = createGate();
        const { runs, handler } = recordRuns(() => release.promise);
        queue.consume('events', handler, { concurrency: 2 });
        await waitFor('both due jobs to start', () => runs.length === 2);
        assert.equal(await queue.oldestWaitingDueAt('events'), null, 'running jobs are not waiting');
        release.open();
      }));

    test('remove deletes waiting and delayed jobs only', () =>
      withQueue({}, async ({ queue }) => {
        await queue.add('events', [
          { id: 'waiting', data: {} },
          { id: 'delayed', data: {}, runAt: Date.now() + 60_000 },
        ]);
        await queue.remove('events', 'waiting');
        await queue.remove('events', 'delayed');
        await queue.remove('events', 'missing');
        assert.deepEqual(await queue.counts('events'), empty);

        const release = createGate();
        const { runs, handler } = recordRuns(() => release.promise);
        queue.consume('events', handler, { concurrency: 1 });
        await queue.add('events', [{ id: 'running', data: {} }]);
        await waitFor('the job to start', () => runs.length === 1);

        await queue.remove('events', 'running');
        assert.deepEqual(await queue.counts('events'), { waiting: 0, delayed: 0, active: 1 });
        release.open();
        await waitFor('the running job to finish', () => isEmpty(queue));
      }));
  });
}
