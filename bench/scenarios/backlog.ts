import { round } from '../lib/percentiles.js';
import { readCurrentRssBytes, readPeakRssBytes } from '../lib/process-usage.js';
import type { Progress } from '../lib/progress.js';
import { describeMode, row, type ComparisonRow } from '../lib/report.js';
import { Session, Stack, type StackOptions } from '../lib/session.js';
import { wallClockMs } from '../lib/wall-clock.js';
import type { LoadResult } from '../processes/load-generator.js';
import type { BareSendResult } from '../lib/bare-sender.js';
import type { StoreCeiling } from '../processes/store-ceiling.js';
import { runSenderCeiling, runStoreCeiling } from './pipeline.js';

export interface BacklogOptions extends StackOptions {
  /** Deliveries to schedule. */
  count: number;
  /** Endpoints of the application; each message fans out to all of them. */
  endpoints: number;
  /** Seconds after its first attempt that each delivery comes due again (HOOKLINE_RETRY_SCHEDULE). */
  dueAfterSeconds: number;
  connections: number;
  bodyBytes: number;
  senderInFlight: number;
  ceilingDurationSeconds: number;
  /** Maximum wait for the backlog to drain once due, in seconds. */
  drainTimeoutSeconds: number;
}

export interface BacklogFigures {
  messages: number;
  deliveries: number;
  ingest: LoadResult;
  /** Seconds from the first message posted until every delivery had failed once and waited for its retry. */
  scheduleSeconds: number;
  scheduled: boolean;
  /** Resident memory of each Hookline process: when the backlog was scheduled, after it waited until just before it came due, and the peak until then. */
  rssBytes: Record<string, { scheduled: number | undefined; beforeDue: number | undefined; peak: number | undefined }>;
  databaseBytes: { before: number | undefined; after: number | undefined; perDelivery: number | undefined };
  redisBytes: { before: number | undefined; after: number | undefined; perDelivery: number | undefined };
  /** Deliveries that the receiver refused although their retry came due before the backlog was complete. */
  refusedTwice: number;
  /** Seconds from starting Hookline again, with the whole backlog due, to its first delivery. */
  startupSeconds: number | undefined;
  /** Unique deliveries once due ÷ seconds from the first to the last of them. */
  duePerSecond: number | undefined;
  drained: boolean;
  senderCeiling: BareSendResult;
  storeCeiling: StoreCeiling | undefined;
}

/** Returns how long a backlog of `count` deliveries waits by default: enough for ingest at 250 deliveries/s, and at least a minute. */
export function defaultDueAfterSeconds(count: number): number {
  return Math.max(60, Math.ceil(count / 250));
}

const perDelivery = (before: number | undefined, after: number | undefined, count: number) =>
  before === undefined || after === undefined ? undefined : round((after - before) / count, 1);

/**
 * Schedules `count` deliveries for later and watches them wait and come due. The receiver
 * responds with 500 while the backlog is built, so each delivery fails its first attempt and waits
 * for its one retry, `dueAfterSeconds` (±20% jitter) later: the backlog of an endpoint that
 * was down. Once all have failed once the receiver accepts again, and the retries are timed.
 * The circuit breaker is set to open only after a million failures, because an open breaker
 * postpones deliveries without an attempt, and every delivery must have had its first.
 */
export async function runBacklog(options: BacklogOptions, progress: Progress): Promise<{ figures: BacklogFigures; comparison: ComparisonRow[]; notes: string[] }> {
  const session = await Session.open();
  let stack: Stack | undefined;
  try {
    const senderCeiling = await runSenderCeiling(session.loadGenerator, {
      url: `http://127.0.0.1:${session.receiverPort}/ceiling-sender`,
      inFlight: options.senderInFlight,
      bodyBytes: options.bodyBytes,
      durationSeconds: options.ceilingDurationSeconds,
    });
    progress.log(`sender ceiling: ${senderCeiling.perSecond.toLocaleString('en-US')} requests/s`);
    const storeCeiling =
      options.mode === 'scaled'
        ? await runStoreCeiling({ kind: 'bullmq', count: 10_000, bodyBytes: options.bodyBytes, redisUrl: options.redisUrl, redisPrefix: `hookline-bench-backlog-${process.pid}` })
        : undefined;

    const endpoints = Math.min(options.endpoints, options.count);
    const messages = Math.ceil(options.count / endpoints);
    stack = await Stack.start(options, { HOOKLINE_RETRY_SCHEDULE: `${options.dueAfterSeconds}s`, HOOKLINE_BREAKER_THRESHOLD: '1000000' });
    const uid = 'backlog';
    await stack.createApplication(uid, Array.from({ length: endpoints }, (_, index) => session.hookUrl(`backlog/${index}`)));
    await session.refuse(true);
    await session.reset();
    const databaseBefore = await stack.databaseBytes();
    const redisBefore = await stack.redisBytes();

    const startedAt = performance.now();
    const ingest = await session.load(
      { ...stack.loadRequest(uid), durationSeconds: 0, count: messages, connections: options.connections, bodyBytes: options.bodyBytes, rate: undefined },
      (accepted) => progress.update(`backlog: ${accepted.toLocaleString('en-US')}/${messages.toLocaleString('en-US')} messages accepted`),
    );
    const expected = ingest.accepted * endpoints;
    // The earliest retry is due 80% of the delay after the first attempt.
    const pauseAt = startedAt + (options.dueAfterSeconds * 0.8 - 2) * 1_000;
    const scheduledSnapshot = await session.waitUntil((snapshot) => snapshot.refused >= expected, Math.max(1_000, pauseAt - performance.now()), (snapshot) =>
      progress.update(`backlog: ${snapshot.refused.toLocaleString('en-US')}/${expected.toLocaleString('en-US')} deliveries scheduled`),
    );
    const scheduleSeconds = round((performance.now() - startedAt) / 1_000, 2);
    const scheduled = scheduledSnapshot.refused >= expected;
    progress.log(`backlog: ${scheduledSnapshot.refused.toLocaleString('en-US')} deliveries scheduled in ${scheduleSeconds} s`);

    const rssBytes: BacklogFigures['rssBytes'] = {};
    const sampleRss = (field: 'scheduled' | 'beforeDue' | 'peak') => {
      for (const hookline of stack?.processes ?? []) {
        const entry = (rssBytes[hookline.process.name] ??= { scheduled: undefined, beforeDue: undefined, peak: undefined });
        entry[field] = field === 'peak' ? readPeakRssBytes(hookline.process.pid) : readCurrentRssBytes(hookline.process.pid);
      }
    };
    sampleRss('scheduled');
    const databaseAfter = await stack.databaseBytes();
    const redisAfter = await stack.redisBytes();

    // The retries come due over ±20% around the delay, so they would trickle in and the
    // rate would follow the jitter. Hookline is stopped just before the earliest is due and
    // started again once the latest is, so the whole backlog is due when it starts.
    while (performance.now() < pauseAt) {
      progress.update(`backlog: ${((pauseAt - performance.now()) / 1_000).toFixed(0)} s of waiting left before the retries come due`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Math.max(0, pauseAt - performance.now()))));
    }
    sampleRss('beforeDue');
    sampleRss('peak');
    await stack.pause();
    const allDueAt = startedAt + (scheduleSeconds + options.dueAfterSeconds * 1.2 + 1) * 1_000;
    while (performance.now() < allDueAt) {
      progress.update(`backlog: Hookline stopped; ${((allDueAt - performance.now()) / 1_000).toFixed(0)} s until every retry is due`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Math.max(0, allDueAt - performance.now()))));
    }
    await session.refuse(false);
    await session.reset();
    const resumedAt = wallClockMs();
    await stack.resume();
    const final = await session.waitUntil((snapshot) => snapshot.uniqueMessages >= expected, options.drainTimeoutSeconds * 1_000, (snapshot) =>
      progress.update(`backlog: ${snapshot.uniqueMessages.toLocaleString('en-US')}/${expected.toLocaleString('en-US')} delivered once due`),
    );
    const drained = final.uniqueMessages >= expected;
    const spanSeconds = final.firstDeliveryAt === undefined || final.lastDeliveryAt === undefined ? 0 : (final.lastDeliveryAt - final.firstDeliveryAt) / 1_000;
    const startupSeconds = final.firstDeliveryAt === undefined ? undefined : round((final.firstDeliveryAt - resumedAt) / 1_000, 2);
    const figures: BacklogFigures = {
      messages: ingest.accepted,
      deliveries: expected,
      ingest,
      scheduleSeconds,
      scheduled,
      rssBytes,
      databaseBytes: { before: databaseBefore, after: databaseAfter, perDelivery: perDelivery(databaseBefore, databaseAfter, expected) },
      redisBytes: { before: redisBefore, after: redisAfter, perDelivery: perDelivery(redisBefore, redisAfter, expected) },
      refusedTwice: Math.max(0, scheduledSnapshot.refused - expected),
      startupSeconds,
      duePerSecond: spanSeconds >= 0.5 ? round(final.uniqueMessages / spanSeconds, 1) : undefined,
      drained,
      senderCeiling,
      storeCeiling,
    };
    progress.log(`backlog: ${final.uniqueMessages.toLocaleString('en-US')} delivered once due${figures.duePerSecond === undefined ? '' : `, ${figures.duePerSecond.toLocaleString('en-US')}/s`}`);

    const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : round(bytes / 1024 ** 2, 1));
    const comparison: ComparisonRow[] = [
      row('deliveries scheduled', 'per s', round(expected / scheduleSeconds, 1), senderCeiling.perSecond, 'bare undici sender'),
      row('deliveries once due', 'per s', figures.duePerSecond, senderCeiling.perSecond, 'bare undici sender'),
      row('store bytes per scheduled delivery', 'bytes', figures.databaseBytes.perDelivery, undefined),
    ];
    if (options.mode === 'scaled') {
      const bare = storeCeiling?.kind === 'bullmq' ? storeCeiling.delayedJobBytes : undefined;
      comparison.push(row('Redis bytes per scheduled delivery', 'bytes', figures.redisBytes.perDelivery, bare, 'bare BullMQ delayed job'));
    }
    for (const [name, rss] of Object.entries(rssBytes)) {
      comparison.push(
        row(`${name} RSS once scheduled`, 'MiB', mib(rss.scheduled), undefined),
        row(`${name} RSS before due`, 'MiB', mib(rss.beforeDue), undefined),
        row(`${name} peak RSS`, 'MiB', mib(rss.peak), undefined),
      );
    }
    const notes = [
      `${describeMode(options)}: ${ingest.accepted.toLocaleString('en-US')} messages × ${endpoints} endpoints = ${expected.toLocaleString('en-US')} deliveries, ${options.bodyBytes}-byte bodies, due ${options.dueAfterSeconds} s (±20%) after their first attempt.`,
      `Scheduling includes the first attempt of every delivery, which the receiver answers 500; ${scheduled ? 'every delivery was scheduled' : 'NOT every delivery was scheduled'} before the first could come due.`,
      `Hookline was stopped just before the first retry came due and started again once every retry was due; its first delivery came ${startupSeconds ?? '—'} s after the start, and the rate runs from the first delivery to the last.`,
      `Store bytes: ${options.mode === 'scaled' ? 'pg_total_relation_size of every table of the run\'s schema' : 'SQLite page_count × page_size, WAL included'}, before and after scheduling, divided by the deliveries; it includes the messages and the first attempts.`,
      ...(figures.refusedTwice > 0 ? [`${figures.refusedTwice.toLocaleString('en-US')} retries came due before the backlog was complete and were refused again.`] : []),
      ...(drained ? [] : [`The backlog was NOT drained: ${final.uniqueMessages.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} delivered.`]),
    ];
    return { figures, comparison, notes };
  } finally {
    progress.finish();
    await stack?.stop();
    await session.close();
  }
}
