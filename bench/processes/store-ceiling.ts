// Store and queue ceilings of the benchmark, run as their own process. On one `run` request
// over IPC it measures the storage under Hookline with nothing else in the loop, then replies.
// The scaled mode measures bare BullMQ (add in bulk, process with an empty processor, and the
// memory of delayed jobs). The embedded mode measures bare better-sqlite3 inserts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { buildMessageBody } from '../lib/message-body.js';
import { round } from '../lib/percentiles.js';
import { deleteKeys, prefixMemoryBytes } from '../lib/redis-memory.js';

export interface StoreCeilingRequest {
  kind: 'bullmq' | 'sqlite';
  /** Jobs or rows to write. */
  count: number;
  bodyBytes: number;
  redisUrl?: string | undefined;
  /** Redis key prefix of the run; the ceiling works under `<prefix>-ceiling` and deletes it after. */
  redisPrefix?: string | undefined;
}

export interface BullmqCeiling {
  kind: 'bullmq';
  /** Queue.addBulk in chunks of 500, jobs/s. */
  addPerSecond: number;
  /** Worker with an empty processor and concurrency 50, jobs/s. */
  processPerSecond: number;
  /** Redis memory per delayed job that carries only an id, as MEMORY USAGE sums it over the keys. */
  delayedJobBytes: number;
}

export interface SqliteCeiling {
  kind: 'sqlite';
  /** Rows of `bodyBytes` inserted one per transaction, rows/s (WAL, synchronous NORMAL). */
  rowPerTransactionPerSecond: number;
  /** Rows inserted 100 per transaction, rows/s. */
  rowsBatchedPerSecond: number;
}

export type StoreCeiling = BullmqCeiling | SqliteCeiling;

async function bullmqCeiling(request: StoreCeilingRequest): Promise<BullmqCeiling> {
  const prefix = `${request.redisPrefix ?? 'hookline-bench'}-ceiling`;
  const connection = new Redis(request.redisUrl ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const queue = new Queue('ceiling', { connection, prefix });
  const body = buildMessageBody(request.bodyBytes);
  try {
    const addStart = performance.now();
    for (let offset = 0; offset < request.count; offset += 500) {
      const size = Math.min(500, request.count - offset);
      await queue.addBulk(Array.from({ length: size }, (_, index) => ({ name: 'job', data: { body, index: offset + index }, opts: { removeOnComplete: true } })));
    }
    const addSeconds = (performance.now() - addStart) / 1_000;

    let processed = 0;
    const processStart = performance.now();
    const done = new Promise<void>((resolve) => {
      const worker = new Worker('ceiling', async () => {}, { connection: connection.duplicate(), prefix, concurrency: 50 });
      worker.on('completed', () => {
        processed += 1;
        if (processed === request.count) {
          void worker.close().then(resolve);
        }
      });
    });
    await done;
    const processSeconds = (performance.now() - processStart) / 1_000;

    const delayedCount = Math.min(request.count, 10_000);
    const before = await prefixMemoryBytes(connection, `${prefix}:`);
    for (let offset = 0; offset < delayedCount; offset += 500) {
      const size = Math.min(500, delayedCount - offset);
      await queue.addBulk(
        Array.from({ length: size }, (_, index) => ({
          name: 'later',
          data: { deliveryId: `dlv_${String(offset + index).padStart(27, '0')}` },
          opts: { delay: 3_600_000, jobId: `dlv_${String(offset + index).padStart(27, '0')}` },
        })),
      );
    }
    const after = await prefixMemoryBytes(connection, `${prefix}:`);
    await queue.close();
    return {
      kind: 'bullmq',
      addPerSecond: round(request.count / addSeconds, 1),
      processPerSecond: round(request.count / processSeconds, 1),
      delayedJobBytes: round((after - before) / delayedCount, 1),
    };
  } finally {
    await deleteKeys(connection, `${prefix}:`);
    connection.disconnect();
  }
}

function sqliteCeiling(request: StoreCeilingRequest): SqliteCeiling {
  const folder = mkdtempSync(join(tmpdir(), 'hookline-bench-sqlite-'));
  const database = new SqliteDatabase(join(folder, 'ceiling.sqlite'));
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.exec('create table row (id text primary key, body blob not null)');
    const insert = database.prepare('insert into row (id, body) values (?, ?)');
    const body = Buffer.from(buildMessageBody(request.bodyBytes));
    const one = database.transaction((id: string) => insert.run(id, body));
    const start = performance.now();
    for (let index = 0; index < request.count; index += 1) {
      one(`single-${index}`);
    }
    const singleSeconds = (performance.now() - start) / 1_000;

    const batch = database.transaction((from: number, size: number) => {
      for (let index = from; index < from + size; index += 1) {
        insert.run(`batch-${index}`, body);
      }
    });
    const batchStart = performance.now();
    for (let offset = 0; offset < request.count; offset += 100) {
      batch(offset, Math.min(100, request.count - offset));
    }
    const batchSeconds = (performance.now() - batchStart) / 1_000;
    return {
      kind: 'sqlite',
      rowPerTransactionPerSecond: round(request.count / singleSeconds, 1),
      rowsBatchedPerSecond: round(request.count / batchSeconds, 1),
    };
  } finally {
    database.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

process.on('message', (message: { type?: string; requestId?: number; ceiling?: StoreCeilingRequest }) => {
  if (message.type !== 'run' || message.ceiling === undefined) {
    return;
  }
  const { ceiling } = message;
  const work = ceiling.kind === 'bullmq' ? bullmqCeiling(ceiling) : Promise.resolve().then(() => sqliteCeiling(ceiling));
  work.then(
    (result) => process.send?.({ requestId: message.requestId, result }),
    (error: unknown) => process.send?.({ requestId: message.requestId, error: error instanceof Error ? error.message : String(error) }),
  );
});

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
