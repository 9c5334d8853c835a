import { round } from '../lib/percentiles.js';
import type { Progress } from '../lib/progress.js';
import { describeMode, row, type ComparisonRow } from '../lib/report.js';
import { Session, Stack, type StackOptions } from '../lib/session.js';
import { wallClockMs } from '../lib/wall-clock.js';
import type { LoadResult } from '../processes/load-generator.js';

export interface FailingOptions extends StackOptions {
  /** Endpoints of the application, dead ones included. */
  endpoints: number;
  /** Share of the endpoints that never respond, 0 to 1. */
  deadShare: number;
  durationSeconds: number;
  connections: number;
  bodyBytes: number;
  /** Messages per second to offer; as many as Hookline accepts when undefined. */
  rate: number | undefined;
  drainTimeoutSeconds: number;
}

export interface FailingRun {
  deadEndpoints: number;
  healthyEndpoints: number;
  ingest: LoadResult;
  /** Deliveries that the healthy endpoints should receive: accepted messages × healthy endpoints. */
  expected: number;
  received: number;
  drained: boolean;
  /** Healthy deliveries ÷ seconds from the start of ingest to the last healthy delivery. */
  healthyPerSecond: number;
  /** Requests that reached the dead endpoints. */
  deadRequests: number;
}

export interface FailingFigures {
  withoutDead: FailingRun;
  withDead: FailingRun;
}

async function measure(options: FailingOptions, session: Session, healthy: number, dead: number, progress: Progress, label: string): Promise<FailingRun> {
  const stack = await Stack.start(options);
  try {
    const uid = 'failing';
    await stack.createApplication(uid, [
      ...Array.from({ length: healthy }, (_, index) => session.hookUrl(`healthy/${index}`)),
      ...Array.from({ length: dead }, (_, index) => session.deadUrl(`dead/${index}`)),
    ]);
    await session.reset();
    const startedAt = wallClockMs();
    const ingest = await session.load(
      { ...stack.loadRequest(uid), durationSeconds: options.durationSeconds, connections: options.connections, bodyBytes: options.bodyBytes, rate: options.rate },
      (accepted) => progress.update(`failing (${label}): ${accepted.toLocaleString('en-US')} messages accepted`),
    );
    const expected = ingest.accepted * healthy;
    const latest = await session.waitUntil((snapshot) => snapshot.uniqueMessages >= expected, options.drainTimeoutSeconds * 1_000, (snapshot) =>
      progress.update(`failing (${label}): ${snapshot.uniqueMessages.toLocaleString('en-US')}/${expected.toLocaleString('en-US')} healthy deliveries`),
    );
    const endedAt = latest.lastDeliveryAt ?? wallClockMs();
    const run: FailingRun = {
      deadEndpoints: dead,
      healthyEndpoints: healthy,
      ingest,
      expected,
      received: latest.uniqueMessages,
      drained: latest.uniqueMessages >= expected,
      healthyPerSecond: round(latest.uniqueMessages / ((endedAt - startedAt) / 1_000), 1),
      deadRequests: latest.deadRequests,
    };
    progress.log(`failing (${label}): ${run.healthyPerSecond.toLocaleString('en-US')} healthy deliveries/s`);
    return run;
  } finally {
    await stack.stop();
  }
}

/**
 * Measures the healthy endpoints' delivery rate twice on fresh Hookline instances: once with
 * only the healthy endpoints, once with the dead ones added. Dead endpoints accept the
 * connection and never respond, so every attempt to them waits for HOOKLINE_REQUEST_TIMEOUT.
 */
export async function runFailing(options: FailingOptions, progress: Progress): Promise<{ figures: FailingFigures; comparison: ComparisonRow[]; notes: string[] }> {
  const session = await Session.open();
  try {
    const dead = Math.max(1, Math.round(options.endpoints * options.deadShare));
    const healthy = Math.max(1, options.endpoints - dead);
    const withoutDead = await measure(options, session, healthy, 0, progress, 'no dead endpoints');
    const withDead = await measure(options, session, healthy, dead, progress, `${dead} dead endpoints`);
    const comparison = [
      row('healthy deliveries with dead endpoints', 'per s', withDead.healthyPerSecond, withoutDead.healthyPerSecond, 'same endpoints, none dead'),
      row('messages accepted with dead endpoints', 'per s', withDead.ingest.acceptedPerSecond, withoutDead.ingest.acceptedPerSecond, 'same endpoints, none dead'),
    ];
    const timeout = options.settings.HOOKLINE_REQUEST_TIMEOUT ?? 'the default 15s';
    const notes = [
      `${describeMode(options)}, ${withDead.healthyEndpoints} healthy endpoints, plus ${dead} that never respond in the second run; request timeout ${timeout}.`,
      `Each run: ${options.durationSeconds} s of ${options.rate === undefined ? 'unlimited' : `${options.rate}/s`} ingest on ${options.connections} connections, then a wait for every healthy delivery.`,
      `Without dead endpoints: ${withoutDead.received.toLocaleString('en-US')} of ${withoutDead.expected.toLocaleString('en-US')} healthy deliveries${withoutDead.drained ? '' : ' (NOT drained)'}.`,
      `With dead endpoints: ${withDead.received.toLocaleString('en-US')} of ${withDead.expected.toLocaleString('en-US')} healthy deliveries${withDead.drained ? '' : ' (NOT drained)'}, ${withDead.deadRequests.toLocaleString('en-US')} requests reached the dead endpoints.`,
    ];
    return { figures: { withoutDead, withDead }, comparison, notes };
  } finally {
    progress.finish();
    await session.close();
  }
}
