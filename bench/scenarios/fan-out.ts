import { round } from '../lib/percentiles.js';
import type { Progress } from '../lib/progress.js';
import { describeMode, row, type ComparisonRow } from '../lib/report.js';
import { Session, Stack, type StackOptions } from '../lib/session.js';
import { wallClockMs } from '../lib/wall-clock.js';
import { runSenderCeiling } from './pipeline.js';

export interface FanOutOptions extends StackOptions {
  /** Endpoint counts to measure, such as 1, 10, 100 and 1,000. */
  endpointCounts: number[];
  /** Messages sent, one after another, to each set of endpoints. */
  repeat: number;
  bodyBytes: number;
  senderInFlight: number;
  /** Maximum wait for one message to reach every endpoint, in seconds. */
  drainTimeoutSeconds: number;
}

export interface FanOutPoint {
  endpoints: number;
  /** Seconds from posting each message until its last delivery arrived, one per message. */
  seconds: number[];
  /** The median of `seconds`. */
  medianSeconds: number;
  /** Messages whose deliveries did not all arrive within the timeout. */
  incomplete: number;
  /** Seconds the bare undici sender took for the same number of requests. */
  ceilingSeconds: number;
}

export interface FanOutFigures {
  points: FanOutPoint[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

/**
 * For each endpoint count, creates an application with that many endpoints on the receiver
 * and posts one message at a time, timing from the post to the last of its deliveries.
 * The ceiling is the bare undici sender sending the same number of requests.
 */
export async function runFanOut(options: FanOutOptions, progress: Progress): Promise<{ figures: FanOutFigures; comparison: ComparisonRow[]; notes: string[] }> {
  const session = await Session.open();
  let stack: Stack | undefined;
  try {
    stack = await Stack.start(options);
    const points: FanOutPoint[] = [];
    for (const count of options.endpointCounts) {
      const uid = `fan-${count}`;
      progress.update(`fan-out: creating ${count} endpoints`);
      await stack.createApplication(
        uid,
        Array.from({ length: count }, (_, index) => session.hookUrl(`${uid}/${index}`)),
      );
      const seconds: number[] = [];
      let incomplete = 0;
      for (let repetition = 0; repetition < options.repeat; repetition += 1) {
        await session.reset();
        const sentAt = wallClockMs();
        await stack.postMessage(uid, sentAt);
        const latest = await session.waitUntil((snapshot) => snapshot.uniqueMessages >= count, options.drainTimeoutSeconds * 1_000, (snapshot) =>
          progress.update(`fan-out: ${count} endpoints, message ${repetition + 1}/${options.repeat}, ${snapshot.uniqueMessages} delivered`),
        );
        if (latest.uniqueMessages < count || latest.lastDeliveryAt === undefined) {
          incomplete += 1;
          continue;
        }
        seconds.push(round((latest.lastDeliveryAt - sentAt) / 1_000));
      }
      await session.reset();
      const ceiling = await runSenderCeiling(session.loadGenerator, {
        url: `http://127.0.0.1:${session.receiverPort}/ceiling-sender`,
        inFlight: options.senderInFlight,
        bodyBytes: options.bodyBytes,
        count,
      });
      const point = { endpoints: count, seconds, medianSeconds: median(seconds), incomplete, ceilingSeconds: ceiling.seconds };
      points.push(point);
      progress.log(`fan-out: ${count} endpoints delivered in ${point.medianSeconds} s (median of ${seconds.length}), bare sender ${ceiling.seconds} s`);
    }

    const comparison = points.map((point) =>
      row(
        `fan-out to ${point.endpoints.toLocaleString('en-US')} endpoint${point.endpoints === 1 ? '' : 's'}, median time to last delivery`,
        'ms',
        point.seconds.length > 0 ? round(point.medianSeconds * 1_000, 1) : undefined,
        round(point.ceilingSeconds * 1_000, 1),
        'bare undici sender, same requests',
      ),
    );
    const notes = [
      `${describeMode(options)}, ${options.repeat} message(s) per endpoint count, one at a time; times run from the POST to the last delivery's arrival.`,
      ...points.filter((point) => point.incomplete > 0).map((point) => `${point.incomplete} message(s) to ${point.endpoints} endpoints did NOT reach every endpoint within ${options.drainTimeoutSeconds} s.`),
    ];
    return { figures: { points }, comparison, notes };
  } finally {
    progress.finish();
    await stack?.stop();
    await session.close();
  }
}
