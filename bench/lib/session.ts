import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { LoadProgress, LoadRequest, LoadResult } from '../processes/load-generator.js';
import type { ReceiverSnapshot } from '../processes/receiver.js';
import { startTsProcess } from '../scenarios/pipeline.js';
import { benchAdminToken, callApi, findFreePort, startHooklineProcess, type HooklineProcess } from './hookline-process.js';
import { requestReply, waitForMessage, type ManagedProcess } from './managed-process.js';
import type { LatencySummary } from './percentiles.js';
import { prefixMemoryBytes } from './redis-memory.js';
import { prepareScaledBackends, type ScaledBackends } from './scaled-backends.js';

const receiverPath = fileURLToPath(new URL('../processes/receiver.ts', import.meta.url));
const loadGeneratorPath = fileURLToPath(new URL('../processes/load-generator.ts', import.meta.url));

/** Options with which a scenario runs Hookline. */
export interface StackOptions {
  mode: 'embedded' | 'scaled';
  /** `hookline worker` processes beside `hookline api` in the scaled mode. */
  workers: number;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  workerConcurrency: number | undefined;
  profileDir: string | undefined;
  settings: Record<string, string>;
}

/**
 * A running Hookline on a data folder, schema and key prefix of its own: one `hookline start`
 * in the embedded mode, one `hookline api` and `workers` `hookline worker` in the scaled mode.
 */
export class Stack {
  private constructor(
    private api_: HooklineProcess,
    private workers_: HooklineProcess[],
    readonly dataDir: string,
    readonly backends: ScaledBackends | undefined,
    private readonly options: StackOptions,
    private readonly env: Record<string, string>,
  ) {}

  static async start(options: StackOptions, extraSettings: Record<string, string> = {}): Promise<Stack> {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
    const backends = options.mode === 'scaled' ? await prepareScaledBackends(options.databaseUrl ?? '', options.redisUrl ?? '') : undefined;
    const env = { ...backends?.env, ...options.settings, ...extraSettings };
    try {
      const { api, workers } = await Stack.startProcesses(options, dataDir, env);
      return new Stack(api, workers, dataDir, backends, options, env);
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      await backends?.cleanup();
      throw error;
    }
  }

  private static async startProcesses(options: StackOptions, dataDir: string, env: Record<string, string>): Promise<{ api: HooklineProcess; workers: HooklineProcess[] }> {
    const port = await findFreePort();
    const common = { dataDir, port, workerConcurrency: options.workerConcurrency, profileDir: options.profileDir, env };
    const started: HooklineProcess[] = [];
    try {
      const api = await startHooklineProcess({ ...common, role: options.mode === 'scaled' ? 'api' : 'start' });
      started.push(api);
      const workers: HooklineProcess[] = [];
      for (let number = 1; options.mode === 'scaled' && number <= options.workers; number += 1) {
        const worker = await startHooklineProcess({
          ...common,
          role: 'worker',
          name: options.workers === 1 ? 'hookline worker' : `hookline worker ${number}`,
        });
        started.push(worker);
        workers.push(worker);
      }
      return { api, workers };
    } catch (error) {
      await Promise.all(started.map((hookline) => hookline.process.stop(10_000)));
      throw error;
    }
  }

  get api(): HooklineProcess {
    return this.api_;
  }

  get workers(): HooklineProcess[] {
    return this.workers_;
  }

  /** Stops every Hookline process gracefully, keeping the data for `resume`. */
  async pause(): Promise<void> {
    await Promise.all(this.processes.map((hookline) => hookline.process.stop(30_000)));
  }

  /** Starts the Hookline processes again after `pause`. */
  async resume(): Promise<void> {
    const { api, workers } = await Stack.startProcesses(this.options, this.dataDir, this.env);
    this.api_ = api;
    this.workers_ = workers;
  }

  get processes(): HooklineProcess[] {
    return [this.api, ...this.workers];
  }

  /** Creates an application and one endpoint per URL, ten requests at a time. */
  async createApplication(uid: string, urls: string[]): Promise<void> {
    await callApi(this.api.url, 'POST', '/api/v1/app', { name: uid, uid });
    for (let offset = 0; offset < urls.length; offset += 10) {
      await Promise.all(
        urls.slice(offset, offset + 10).map((url, index) =>
          callApi(this.api.url, 'POST', `/api/v1/app/${uid}/endpoint`, { url, description: `Benchmark endpoint ${offset + index + 1}` }),
        ),
      );
    }
  }

  /** Posts one message to an application; the payload carries its send time. */
  async postMessage(uid: string, sentAt: number): Promise<void> {
    await callApi(this.api.url, 'POST', `/api/v1/app/${uid}/msg`, { eventType: 'bench.sent', payload: { sentAt } });
  }

  /** Returns the load generator's request for posting messages to an application. */
  loadRequest(uid: string): Pick<LoadRequest, 'url' | 'headers'> {
    return { url: `${this.api.url}/api/v1/app/${uid}/msg`, headers: { authorization: `Bearer ${benchAdminToken}` } };
  }

  /** Bytes the store takes: SQLite pages (WAL included) or every relation of the run's schema. */
  async databaseBytes(): Promise<number | undefined> {
    if (this.backends === undefined) {
      const path = join(this.dataDir, 'hookline.db');
      if (!existsSync(path)) {
        return undefined;
      }
      const database = new SqliteDatabase(path, { readonly: true, fileMustExist: true });
      try {
        const pageCount = database.pragma('page_count', { simple: true }) as number;
        const pageSize = database.pragma('page_size', { simple: true }) as number;
        return pageCount * pageSize;
      } finally {
        database.close();
      }
    }
    const client = new pg.Client({ connectionString: this.backends.env.DATABASE_URL });
    await client.connect();
    try {
      const result = await client.query<{ bytes: string | null }>(
        `select sum(pg_total_relation_size(c.oid))::text as bytes from pg_class c
           join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'`,
        [this.backends.schema],
      );
      return Number(result.rows[0]?.bytes ?? 0);
    } finally {
      await client.end();
    }
  }

  /** Bytes of the run's Redis keys (scaled mode), or undefined in the embedded mode. */
  async redisBytes(): Promise<number | undefined> {
    if (this.backends === undefined) {
      return undefined;
    }
    const redis = new Redis(this.options.redisUrl ?? '', { maxRetriesPerRequest: 1 });
    try {
      return await prefixMemoryBytes(redis, `${this.backends.redisPrefix}:`);
    } finally {
      redis.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((hookline) => hookline.process.stop(10_000)));
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.backends?.cleanup();
  }
}

/** The receiver and load generator processes that every scenario talks to. */
export class Session {
  private constructor(
    readonly receiver: ManagedProcess,
    readonly loadGenerator: ManagedProcess,
    readonly receiverPort: number,
    readonly deadPort: number,
  ) {}

  static async open(): Promise<Session> {
    const receiver = startTsProcess('receiver', receiverPath);
    const loadGenerator = startTsProcess('load generator', loadGeneratorPath);
    try {
      const { port, deadPort } = await waitForMessage<{ port: number; deadPort: number }>(receiver, 'ready', 30_000);
      await waitForMessage(loadGenerator, 'ready', 30_000);
      return new Session(receiver, loadGenerator, port, deadPort);
    } catch (error) {
      await Promise.all([receiver.stop(5_000), loadGenerator.stop(5_000)]);
      throw error;
    }
  }

  hookUrl(path: string): string {
    return `http://127.0.0.1:${this.receiverPort}/hook/${path}`;
  }

  deadUrl(path: string): string {
    return `http://127.0.0.1:${this.deadPort}/hook/${path}`;
  }

  snapshot(): Promise<ReceiverSnapshot> {
    return requestReply<ReceiverSnapshot>(this.receiver, { type: 'snapshot' });
  }

  summary(): Promise<ReceiverSnapshot & { delay: LatencySummary }> {
    return requestReply<ReceiverSnapshot & { delay: LatencySummary }>(this.receiver, { type: 'summary' });
  }

  async reset(): Promise<void> {
    await requestReply(this.receiver, { type: 'reset' });
  }

  async refuse(on: boolean): Promise<void> {
    await requestReply(this.receiver, { type: 'refuse', on });
  }

  /** Runs a load in the load generator, reporting the accepted count as it goes. */
  async load(load: LoadRequest, onProgress: (accepted: number) => void = () => {}): Promise<LoadResult> {
    const listener = (message: LoadProgress) => {
      if (message.type === 'progress') {
        onProgress(message.accepted);
      }
    };
    this.loadGenerator.child.on('message', listener);
    try {
      const reply = await requestReply<{ result?: LoadResult; error?: string }>(this.loadGenerator, { type: 'run', load }, (load.durationSeconds + 3_600) * 1_000);
      if (reply.result === undefined) {
        throw new Error(`The load generator failed: ${reply.error ?? 'no result'}`);
      }
      return reply.result;
    } finally {
      this.loadGenerator.child.off('message', listener);
    }
  }

  /** Polls the receiver until `done` returns true or `timeoutMs` passes, and returns the last snapshot. */
  async waitUntil(done: (snapshot: ReceiverSnapshot) => boolean, timeoutMs: number, onPoll: (snapshot: ReceiverSnapshot) => void = () => {}): Promise<ReceiverSnapshot> {
    const deadline = performance.now() + timeoutMs;
    let latest = await this.snapshot();
    while (!done(latest) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      latest = await this.snapshot();
      onPoll(latest);
    }
    return latest;
  }

  async close(): Promise<void> {
    await Promise.all([this.receiver.stop(5_000), this.loadGenerator.stop(5_000)]);
  }
}

