import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAdminToken, callApi, findFreePort, startHooklineProcess, type HooklineProcess, type HooklineRole } from '../lib/hookline-process.js';
import { requestReply, startProcess, waitForMessage, type ManagedProcess } from '../lib/managed-process.js';
import { round, type LatencySummary } from '../lib/percentiles.js';
import { readCpuSeconds, readCpuSecondsOfCommand, readPeakRssBytes } from '../lib/process-usage.js';
import type { Progress } from '../lib/progress.js';
import { prepareScaledBackends, type ScaledBackends } from '../lib/scaled-backends.js';
import { wallClockMs } from '../lib/wall-clock.js';
import type { LoadProgress, LoadRequest, LoadResult } from '../processes/load-generator.js';
import type { ReceiverSnapshot } from '../processes/receiver.js';
import type { StoreCeiling, StoreCeilingRequest } from '../processes/store-ceiling.js';
import type { BareSendRequest, BareSendResult } from '../lib/bare-sender.js';

/**
 * `pipeline` runs ingest and delivery at the same time: in one `hookline start` process in
 * the embedded mode, in one `hookline api` and `workers` `hookline worker` processes in the
 * scaled mode.
 * `api` runs only `hookline api`, so nothing is delivered and the figures are the API's alone.
 * `drain` fills a backlog through `hookline api`, stops it, and times `hookline worker`
 * (in the scaled mode, `workers` of them) draining it.
 */
export type PipelineScenario = 'pipeline' | 'api' | 'drain';

/** `embedded`: SQLite and the embedded queue. `scaled`: PostgreSQL and BullMQ on Redis. */
export type BenchMode = 'embedded' | 'scaled';

export interface PipelineOptions {
  scenario: PipelineScenario;
  mode: BenchMode;
  /** `hookline worker` processes of the scaled mode; 1 in the embedded mode. */
  workers: number;
  /** Scaled mode: the PostgreSQL database that gets a schema for the run. */
  databaseUrl: string | undefined;
  /** Scaled mode: the Redis server that gets a key prefix for the run. */
  redisUrl: string | undefined;
  durationSeconds: number;
  ceilingDurationSeconds: number;
  connections: number;
  bodyBytes: number;
  /** Messages per second the load generator offers; as many as Hookline accepts when undefined. */
  rate: number | undefined;
  /** HOOKLINE_WORKER_CONCURRENCY; Hookline's default when undefined. */
  workerConcurrency: number | undefined;
  /** Maximum wait for the backlog to drain after ingest, in seconds. */
  drainTimeoutSeconds: number;
  /** Folder for CPU profiles of the Hookline processes; none when undefined. */
  profileDir: string | undefined;
  /** Settings passed to every Hookline process (`--set NAME=VALUE`). */
  settings: Record<string, string>;
  /** Jobs or rows of the store ceiling (bare BullMQ in the scaled mode, bare SQLite in the embedded); 0 skips it. */
  ceilingJobs: number;
  /** Requests the bare sender keeps in flight, as Hookline's workers do. */
  senderInFlight: number;
}

/** Average number of cores a process kept busy during a phase (CPU seconds ÷ wall seconds). */
export type CoresBusy = number | undefined;

export interface DeliveryFigures {
  /** Messages accepted during ingest, which the drain waits for. */
  backlog: number;
  received: number;
  uniqueMessages: number;
  duplicates: number;
  /** Deliveries whose payload carried no send time. */
  unparsed: number;
  /** Undefined for `deliver`, where no worker runs during ingest. */
  duringIngestPerSecond: number | undefined;
  /** Undefined when the drain took less than a second, too short for a rate. */
  afterIngestPerSecond: number | undefined;
  /**
   * Deliveries per second over the whole time Hookline delivered: from the start of ingest to
   * the last delivery (for `drain`: from the first delivery to the last).
   */
  endToEndPerSecond: number | undefined;
  /**
   * CPU time of every Hookline process during ingest and drain, divided by the messages
   * delivered, in ms. It moves less than the rates when other work shares the machine.
   */
  cpuMsPerMessage: number | undefined;
  /** Seconds from the end of ingest (for `deliver`: from the worker's start) until every accepted message arrived. */
  drainSeconds: number;
  drained: boolean;
  /** Accept-to-receipt delay: receipt time at the receiver minus the send time in the payload, in ms. */
  delay: LatencySummary;
}

export interface TimelinePoint {
  /** Seconds since ingest started. */
  seconds: number;
  accepted: number;
  delivered: number;
}

export interface PipelineFigures {
  ceiling: LoadResult;
  /** Bare undici sender to the same receiver; undefined for `api`, which delivers nothing. */
  senderCeiling: BareSendResult | undefined;
  /** Bare BullMQ (scaled) or bare SQLite (embedded); undefined when skipped. */
  storeCeiling: StoreCeiling | undefined;
  ingest: LoadResult;
  delivery: DeliveryFigures | undefined;
  /**
   * `hookline` is the sum over every Hookline process, and `hooklineByProcess` the share of
   * each by process name. `services` (scaled mode) is every `postgres` and `redis-server`
   * process on the machine, so it includes work for other clients of those servers.
   */
  cpu: {
    ceiling: { receiver: CoresBusy; loadGenerator: CoresBusy };
    ingest: {
      hookline: CoresBusy;
      hooklineByProcess: Record<string, CoresBusy>;
      receiver: CoresBusy;
      loadGenerator: CoresBusy;
      services: ServiceCores | undefined;
    };
    drain: { hookline: CoresBusy; hooklineByProcess: Record<string, CoresBusy>; receiver: CoresBusy; services: ServiceCores | undefined } | undefined;
  };
  /** Peak resident memory of each Hookline process, in bytes. */
  hooklinePeakRssBytes: Record<string, number | undefined>;
  timeline: TimelinePoint[];
}

const receiverPath = fileURLToPath(new URL('../processes/receiver.ts', import.meta.url));
const loadGeneratorPath = fileURLToPath(new URL('../processes/load-generator.ts', import.meta.url));
const storeCeilingPath = fileURLToPath(new URL('../processes/store-ceiling.ts', import.meta.url));
const applicationUid = 'bench';

export function startTsProcess(name: string, path: string): ManagedProcess {
  return startProcess(name, process.execPath, ['--import', 'tsx', path], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
  });
}

/** Measures CPU use of a set of processes between `start()` and `stop()`. */
function cpuMeter<Name extends string>(processes: Record<Name, ManagedProcess>): () => Record<Name, CoresBusy> {
  const started = performance.now();
  const names = Object.keys(processes) as Name[];
  const before = new Map(names.map((name) => [name, readCpuSeconds(processes[name].pid)]));
  return () => {
    const wallSeconds = (performance.now() - started) / 1_000;
    const usage = {} as Record<Name, CoresBusy>;
    for (const name of names) {
      const after = readCpuSeconds(processes[name].pid);
      const start = before.get(name);
      usage[name] = after === undefined || start === undefined ? undefined : round((after - start) / wallSeconds, 2);
    }
    return usage;
  };
}

/** Cores kept busy by the PostgreSQL and Redis servers during a phase. */
export interface ServiceCores {
  postgres: CoresBusy;
  redis: CoresBusy;
}

/** Measures the CPU use of every `postgres` and `redis-server` process between the call and the returned function's call. */
function serviceMeter(): () => ServiceCores {
  const started = performance.now();
  const before = { postgres: readCpuSecondsOfCommand('postgres'), redis: readCpuSecondsOfCommand('redis-server') };
  const cores = (after: number | undefined, start: number | undefined, wallSeconds: number): CoresBusy =>
    after === undefined || start === undefined ? undefined : round((after - start) / wallSeconds, 2);
  return () => {
    const wallSeconds = (performance.now() - started) / 1_000;
    return {
      postgres: cores(readCpuSecondsOfCommand('postgres'), before.postgres, wallSeconds),
      redis: cores(readCpuSecondsOfCommand('redis-server'), before.redis, wallSeconds),
    };
  };
}

/** Adds up the cores of the named processes. The total is undefined when any of them could not be measured. */
function sumCores(usage: Record<string, CoresBusy>, names: readonly string[]): { total: CoresBusy; byName: Record<string, CoresBusy> } {
  const byName: Record<string, CoresBusy> = {};
  let total: CoresBusy = 0;
  for (const name of names) {
    const cores = usage[name];
    byName[name] = cores;
    total = total === undefined || cores === undefined ? undefined : round(total + cores, 2);
  }
  return { total, byName };
}

async function runLoad(loadGenerator: ManagedProcess, load: LoadRequest, onProgress: (accepted: number) => void): Promise<LoadResult> {
  const listener = (message: LoadProgress) => {
    if (message.type === 'progress') {
      onProgress(message.accepted);
    }
  };
  loadGenerator.child.on('message', listener);
  try {
    const reply = await requestReply<{ result?: LoadResult; error?: string }>(
      loadGenerator,
      { type: 'run', load },
      (load.durationSeconds + 60) * 1_000,
    );
    if (reply.result === undefined) {
      throw new Error(`The load generator failed: ${reply.error ?? 'no result'}`);
    }
    return reply.result;
  } finally {
    loadGenerator.child.off('message', listener);
  }
}

/**
 * Seconds from the first delivery to the last: for `drain`, the workers' delivering time
 * without their start-up, which grows with the number of worker processes started one by one.
 */
function drainingSeconds(summary: ReceiverSnapshot): number | undefined {
  if (summary.firstDeliveryAt === undefined || summary.lastDeliveryAt === undefined || summary.lastDeliveryAt - summary.firstDeliveryAt < 500) {
    return undefined;
  }
  return (summary.lastDeliveryAt - summary.firstDeliveryAt) / 1_000;
}

const snapshotOf = (receiver: ManagedProcess) => requestReply<ReceiverSnapshot>(receiver, { type: 'snapshot' });

/** Runs the bare undici sender inside the load generator process. */
export async function runSenderCeiling(loadGenerator: ManagedProcess, send: BareSendRequest): Promise<BareSendResult> {
  const reply = await requestReply<{ result?: BareSendResult; error?: string }>(loadGenerator, { type: 'send', send }, 600_000);
  if (reply.result === undefined) {
    throw new Error(`The bare sender failed: ${reply.error ?? 'no result'}`);
  }
  return reply.result;
}

/** Runs the store ceiling in a process of its own, which it stops afterwards. */
export async function runStoreCeiling(ceiling: StoreCeilingRequest): Promise<StoreCeiling> {
  const child = startTsProcess('store ceiling', storeCeilingPath);
  try {
    await waitForMessage(child, 'ready', 30_000);
    const reply = await requestReply<{ result?: StoreCeiling; error?: string }>(child, { type: 'run', ceiling }, 600_000);
    if (reply.result === undefined) {
      throw new Error(`The store ceiling failed: ${reply.error ?? 'no result'}`);
    }
    return reply.result;
  } finally {
    await child.stop(5_000);
  }
}

/**
 * Runs the ceiling, then the chosen half or whole of Hookline's pipeline, and returns
 * the figures. Every process it starts is stopped before it returns or throws.
 */
export async function runPipeline(options: PipelineOptions, progress: Progress): Promise<PipelineFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  const started: ManagedProcess[] = [];
  let backends: ScaledBackends | undefined;
  try {
    if (options.mode === 'scaled') {
      backends = await prepareScaledBackends(options.databaseUrl ?? '', options.redisUrl ?? '');
      progress.log(`scaled mode: PostgreSQL schema ${backends.schema}, Redis prefix ${backends.redisPrefix}`);
    }
    const backendEnv = { ...backends?.env, ...options.settings };

    const receiver = startTsProcess('receiver', receiverPath);
    started.push(receiver);
    const loadGenerator = startTsProcess('load generator', loadGeneratorPath);
    started.push(loadGenerator);
    const { port: receiverPort } = await waitForMessage<{ port: number }>(receiver, 'ready', 30_000);
    await waitForMessage(loadGenerator, 'ready', 30_000);

    // 1. The ceiling: the same load against a bare server that responds 204 to every request.
    const ceilingMeter = cpuMeter({ receiver, loadGenerator });
    const ceiling = await runLoad(
      loadGenerator,
      {
        url: `http://127.0.0.1:${receiverPort}/ceiling`,
        durationSeconds: options.ceilingDurationSeconds,
        connections: options.connections,
        bodyBytes: options.bodyBytes,
        headers: {},
        rate: options.rate,
      },
      (accepted) => progress.update(`ceiling: ${accepted.toLocaleString('en-US')} requests answered`),
    );
    const ceilingCpu = ceilingMeter();
    progress.log(`ceiling: ${ceiling.acceptedPerSecond.toLocaleString('en-US')} requests/s`);
    let senderCeiling: BareSendResult | undefined;
    if (options.scenario !== 'api') {
      progress.update('sender ceiling: bare undici sender running');
      senderCeiling = await runSenderCeiling(loadGenerator, {
        url: `http://127.0.0.1:${receiverPort}/ceiling-sender`,
        inFlight: options.senderInFlight,
        bodyBytes: options.bodyBytes,
        durationSeconds: options.ceilingDurationSeconds,
      });
      progress.log(`sender ceiling: ${senderCeiling.perSecond.toLocaleString('en-US')} requests/s`);
    }
    let storeCeiling: StoreCeiling | undefined;
    if (options.ceilingJobs > 0) {
      progress.update('store ceiling: running');
      storeCeiling = await runStoreCeiling({
        kind: options.mode === 'scaled' ? 'bullmq' : 'sqlite',
        count: options.ceilingJobs,
        bodyBytes: options.bodyBytes,
        redisUrl: options.redisUrl,
        redisPrefix: backends?.redisPrefix,
      });
      progress.log(`store ceiling: ${JSON.stringify(storeCeiling)}`);
    }

    // 2. Hookline with one application and one endpoint that points at the receiver.
    const role: HooklineRole = options.scenario === 'pipeline' && options.mode === 'embedded' ? 'start' : 'api';
    const hooklinePort = await findFreePort();
    const startWorkers = async (): Promise<HooklineProcess[]> => {
      const workers: HooklineProcess[] = [];
      for (let number = 1; number <= options.workers; number += 1) {
        const worker = await startHooklineProcess({
          role: 'worker',
          name: options.workers === 1 ? 'hookline worker' : `hookline worker ${number}`,
          dataDir,
          port: hooklinePort,
          workerConcurrency: options.workerConcurrency,
          profileDir: options.profileDir,
          env: backendEnv,
        });
        started.push(worker.process);
        workers.push(worker);
      }
      return workers;
    };
    const api = await startHooklineProcess({
      role,
      dataDir,
      port: hooklinePort,
      workerConcurrency: options.workerConcurrency,
      profileDir: options.profileDir,
      env: backendEnv,
    });
    started.push(api.process);
    // The API process migrates the schema, so the workers start after it.
    const workers = options.scenario === 'pipeline' && options.mode === 'scaled' ? await startWorkers() : [];
    await callApi(api.url, 'POST', '/api/v1/app', { name: 'Benchmark', uid: applicationUid });
    await callApi(api.url, 'POST', `/api/v1/app/${applicationUid}/endpoint`, {
      url: `http://127.0.0.1:${receiverPort}/hook`,
      description: 'Benchmark receiver',
    });
    if (workers.length > 0) {
      // Worker processes report nothing at the warn level, so one delivery shows that they run.
      await callApi(api.url, 'POST', `/api/v1/app/${applicationUid}/msg`, { eventType: 'bench.warm-up', payload: { sentAt: wallClockMs() } });
      const deadline = performance.now() + 30_000;
      while ((await snapshotOf(receiver)).deliveries === 0) {
        if (performance.now() > deadline) {
          throw new Error(`The warm-up message was not delivered within 30 s.\n${workers.map((worker) => worker.process.stderrTail()).join('\n')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await requestReply(receiver, { type: 'reset' });
    const ingestProcesses = [api, ...workers];
    const ingestNames = ingestProcesses.map((hookline) => hookline.process.name);

    // 3. Ingest for the fixed duration, sampling the receiver once a second.
    const timeline: TimelinePoint[] = [];
    let accepted = 0;
    const ingestStarted = performance.now();
    const ingestMeter = cpuMeter({ receiver, loadGenerator, ...Object.fromEntries(ingestProcesses.map((hookline) => [hookline.process.name, hookline.process])) });
    const ingestServiceMeter = options.mode === 'scaled' ? serviceMeter() : undefined;
    let pendingSample: Promise<void> | undefined;
    const sampleTimer = setInterval(() => {
      // A sample still waiting for the receiver's reply is not overtaken by the next one.
      pendingSample ??= snapshotOf(receiver)
        .then((snapshot) => {
          const seconds = round((performance.now() - ingestStarted) / 1_000, 1);
          timeline.push({ seconds, accepted, delivered: snapshot.deliveries });
          progress.update(
            `${options.scenario}: ingest ${Math.min(seconds, options.durationSeconds).toFixed(0)}/${options.durationSeconds} s, ` +
              `${accepted.toLocaleString('en-US')} accepted, ${snapshot.deliveries.toLocaleString('en-US')} delivered`,
          );
        })
        .finally(() => (pendingSample = undefined));
    }, 1_000);
    let ingest: LoadResult;
    try {
      ingest = await runLoad(
        loadGenerator,
        {
          url: `${api.url}/api/v1/app/${applicationUid}/msg`,
          durationSeconds: options.durationSeconds,
          connections: options.connections,
          bodyBytes: options.bodyBytes,
          headers: { authorization: `Bearer ${benchAdminToken}` },
          rate: options.rate,
        },
        (count) => (accepted = count),
      );
    } finally {
      clearInterval(sampleTimer);
    }
    const ingestEnded = performance.now();
    const ingestEndedWallClock = wallClockMs();
    const ingestUsage = ingestMeter();
    const ingestHookline = sumCores(ingestUsage, ingestNames);
    const ingestCpu = {
      hookline: ingestHookline.total,
      hooklineByProcess: ingestHookline.byName,
      receiver: ingestUsage.receiver,
      loadGenerator: ingestUsage.loadGenerator,
      services: ingestServiceMeter?.(),
    };
    await pendingSample;
    const atIngestEnd = await snapshotOf(receiver);
    progress.log(`${options.scenario}: ${ingest.acceptedPerSecond.toLocaleString('en-US')} messages accepted/s`);

    const hooklinePeakRssBytes: Record<string, number | undefined> = Object.fromEntries(
      ingestProcesses.map((hookline) => [hookline.process.name, readPeakRssBytes(hookline.process.pid)]),
    );
    if (options.scenario === 'api') {
      await api.process.stop(30_000);
      return {
        ceiling,
        senderCeiling,
        storeCeiling,
        ingest,
        delivery: undefined,
        cpu: { ceiling: ceilingCpu, ingest: ingestCpu, drain: undefined },
        hooklinePeakRssBytes,
        timeline,
      };
    }

    // 4. Drain: wait until every accepted message reached the receiver.
    let drainers: HooklineProcess[] = options.mode === 'scaled' ? workers : [api];
    let drainStarted = ingestEnded;
    let drainStartedWallClock = ingestEndedWallClock;
    if (options.scenario === 'drain') {
      await api.process.stop(30_000);
      drainStarted = performance.now();
      drainStartedWallClock = wallClockMs();
      drainers = await startWorkers();
    }
    const drainNames = drainers.map((hookline) => hookline.process.name);
    const drainMeter = cpuMeter({ receiver, ...Object.fromEntries(drainers.map((hookline) => [hookline.process.name, hookline.process])) });
    const drainServiceMeter = options.mode === 'scaled' ? serviceMeter() : undefined;
    const deadline = drainStarted + options.drainTimeoutSeconds * 1_000;
    let latest = atIngestEnd;
    while (latest.uniqueMessages < ingest.accepted && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      latest = await snapshotOf(receiver);
      progress.update(
        `${options.scenario}: drain ${((performance.now() - drainStarted) / 1_000).toFixed(1)} s, ` +
          `${latest.uniqueMessages.toLocaleString('en-US')}/${ingest.accepted.toLocaleString('en-US')} delivered`,
      );
    }
    const drainUsage = drainMeter();
    const drainServices = drainServiceMeter?.();
    const drainHookline = sumCores(drainUsage, drainNames);
    const drainEnded = performance.now();
    for (const drainer of drainers) {
      hooklinePeakRssBytes[drainer.process.name] = readPeakRssBytes(drainer.process.pid);
    }
    const drained = latest.uniqueMessages >= ingest.accepted;
    const summary = await requestReply<ReceiverSnapshot & { delay: LatencySummary }>(receiver, { type: 'summary' });
    progress.log(
      drained
        ? `${options.scenario}: backlog drained in ${((drainEnded - drainStarted) / 1_000).toFixed(1)} s`
        : `${options.scenario}: backlog not drained after ${options.drainTimeoutSeconds} s`,
    );

    // The receiver stamps each delivery, so a drained backlog is timed to its last delivery
    // rather than to the poll that noticed it.
    const ingestSeconds = (ingestEnded - ingestStarted) / 1_000;
    const drainSeconds =
      drained && summary.lastDeliveryAt !== undefined
        ? Math.max(0, summary.lastDeliveryAt - drainStartedWallClock) / 1_000
        : (drainEnded - drainStarted) / 1_000;
    return {
      ceiling,
      senderCeiling,
      storeCeiling,
      ingest,
      delivery: {
        backlog: ingest.accepted,
        received: summary.deliveries,
        uniqueMessages: summary.uniqueMessages,
        duplicates: summary.deliveries - summary.uniqueMessages,
        unparsed: summary.unparsed,
        duringIngestPerSecond: options.scenario === 'drain' ? undefined : round(atIngestEnd.deliveries / ingestSeconds, 1),
        afterIngestPerSecond: drainSeconds >= 1 ? round((summary.deliveries - atIngestEnd.deliveries) / drainSeconds, 1) : undefined,
        cpuMsPerMessage:
          ingestHookline.total === undefined || drainHookline.total === undefined || summary.uniqueMessages === 0
            ? undefined
            : round(((ingestHookline.total * ingestSeconds + drainHookline.total * ((drainEnded - drainStarted) / 1_000)) * 1_000) / summary.uniqueMessages, 3),
        endToEndPerSecond: round(summary.uniqueMessages / (options.scenario === 'drain' ? drainingSeconds(summary) ?? drainSeconds : ingestSeconds + drainSeconds), 1),
        drainSeconds: round(drainSeconds, 2),
        drained,
        delay: summary.delay,
      },
      cpu: {
        ceiling: ceilingCpu,
        ingest: ingestCpu,
        drain: { hookline: drainHookline.total, hooklineByProcess: drainHookline.byName, receiver: drainUsage.receiver, services: drainServices },
      },
      hooklinePeakRssBytes,
      timeline,
    };
  } finally {
    progress.finish();
    await Promise.all(started.map((managed) => managed.stop(10_000)));
    rmSync(dataDir, { recursive: true, force: true });
    await backends?.cleanup();
  }
}
