import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAdminToken, callApi, findFreePort, startHooklineProcess, type HooklineProcess, type HooklineRole } from '../lib/hookline-process.js';
import { requestReply, startProcess, waitForMessage, type ManagedProcess } from '../lib/managed-process.js';
import { round, type LatencySummary } from '../lib/percentiles.js';
import { readCpuSeconds, readPeakRssBytes } from '../lib/process-usage.js';
import type { Progress } from '../lib/progress.js';
import { wallClockMs } from '../lib/wall-clock.js';
import type { LoadProgress, LoadRequest, LoadResult } from '../processes/load-generator.js';
import type { ReceiverSnapshot } from '../processes/receiver.js';

/**
 * `pipeline` runs ingest and delivery at the same time in one `hookline start` process.
 * `ingest` runs only `hookline api`, so nothing is delivered and the figures are the API's alone.
 * `deliver` fills a backlog through `hookline api`, stops it, and times `hookline worker` draining it.
 */
export type PipelineScenario = 'pipeline' | 'ingest' | 'deliver';

export interface PipelineOptions {
  scenario: PipelineScenario;
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
  ingest: LoadResult;
  delivery: DeliveryFigures | undefined;
  cpu: {
    ceiling: { receiver: CoresBusy; loadGenerator: CoresBusy };
    ingest: { hookline: CoresBusy; receiver: CoresBusy; loadGenerator: CoresBusy };
    drain: { hookline: CoresBusy; receiver: CoresBusy } | undefined;
  };
  /** Peak resident memory of each Hookline process, in bytes. */
  hooklinePeakRssBytes: Record<string, number | undefined>;
  timeline: TimelinePoint[];
}

const receiverPath = fileURLToPath(new URL('../processes/receiver.ts', import.meta.url));
const loadGeneratorPath = fileURLToPath(new URL('../processes/load-generator.ts', import.meta.url));
const applicationUid = 'bench';

function startTsProcess(name: string, path: string): ManagedProcess {
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

const snapshotOf = (receiver: ManagedProcess) => requestReply<ReceiverSnapshot>(receiver, { type: 'snapshot' });

/**
 * Runs the ceiling, then the chosen half or whole of Hookline's pipeline, and returns
 * the figures. Every process it starts is stopped before it returns or throws.
 */
export async function runPipeline(options: PipelineOptions, progress: Progress): Promise<PipelineFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  const started: ManagedProcess[] = [];
  try {
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

    // 2. Hookline with one application and one endpoint that points at the receiver.
    const role: HooklineRole = options.scenario === 'pipeline' ? 'start' : 'api';
    const hooklinePort = await findFreePort();
    const api = await startHooklineProcess({
      role,
      dataDir,
      port: hooklinePort,
      workerConcurrency: options.workerConcurrency,
      profileDir: options.profileDir,
    });
    started.push(api.process);
    await callApi(api.url, 'POST', '/api/v1/app', { name: 'Benchmark', uid: applicationUid });
    await callApi(api.url, 'POST', `/api/v1/app/${applicationUid}/endpoint`, {
      url: `http://127.0.0.1:${receiverPort}/hook`,
      description: 'Benchmark receiver',
    });
    await requestReply(receiver, { type: 'reset' });

    // 3. Ingest for the fixed duration, sampling the receiver once a second.
    const timeline: TimelinePoint[] = [];
    let accepted = 0;
    const ingestStarted = performance.now();
    const ingestMeter = cpuMeter({ hookline: api.process, receiver, loadGenerator });
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
    const ingestCpu = ingestMeter();
    await pendingSample;
    const atIngestEnd = await snapshotOf(receiver);
    progress.log(`${options.scenario}: ${ingest.acceptedPerSecond.toLocaleString('en-US')} messages accepted/s`);

    const hooklinePeakRssBytes: Record<string, number | undefined> = { [role]: readPeakRssBytes(api.process.pid) };
    if (options.scenario === 'ingest') {
      await api.process.stop(30_000);
      return {
        ceiling,
        ingest,
        delivery: undefined,
        cpu: { ceiling: ceilingCpu, ingest: ingestCpu, drain: undefined },
        hooklinePeakRssBytes,
        timeline,
      };
    }

    // 4. Drain: wait until every accepted message reached the receiver.
    let drainer: HooklineProcess = api;
    let drainStarted = ingestEnded;
    let drainStartedWallClock = ingestEndedWallClock;
    if (options.scenario === 'deliver') {
      await api.process.stop(30_000);
      drainStarted = performance.now();
      drainStartedWallClock = wallClockMs();
      drainer = await startHooklineProcess({
        role: 'worker',
        dataDir,
        port: hooklinePort,
        workerConcurrency: options.workerConcurrency,
        profileDir: options.profileDir,
      });
      started.push(drainer.process);
    }
    const drainMeter = cpuMeter({ hookline: drainer.process, receiver });
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
    const drainCpu = drainMeter();
    const drainEnded = performance.now();
    hooklinePeakRssBytes[drainer === api ? role : 'worker'] = readPeakRssBytes(drainer.process.pid);
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
      ingest,
      delivery: {
        backlog: ingest.accepted,
        received: summary.deliveries,
        uniqueMessages: summary.uniqueMessages,
        duplicates: summary.deliveries - summary.uniqueMessages,
        unparsed: summary.unparsed,
        duringIngestPerSecond: options.scenario === 'deliver' ? undefined : round(atIngestEnd.deliveries / ingestSeconds, 1),
        afterIngestPerSecond: drainSeconds >= 1 ? round((summary.deliveries - atIngestEnd.deliveries) / drainSeconds, 1) : undefined,
        drainSeconds: round(drainSeconds, 2),
        drained,
        delay: summary.delay,
      },
      cpu: {
        ceiling: ceilingCpu,
        ingest: ingestCpu,
        drain: { hookline: drainCpu.hookline, receiver: drainCpu.receiver },
      },
      hooklinePeakRssBytes,
      timeline,
    };
  } finally {
    progress.finish();
    await Promise.all(started.map((managed) => managed.stop(10_000)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
