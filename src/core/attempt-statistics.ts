import type { AttemptFinishedEvent, AttemptObserver } from '../observability/attempt-events.js';
import type { Logger } from '../observability/logger.js';
import { latencyBinBounds } from '../store/migrations/0006-observability.js';
import { bucketStart, latencyBin, statGranularities, type StatGranularity, type StatIncrement } from '../store/repositories/attempt-stats.js';
import type { Store } from '../store/store.js';

export interface StatisticsRecorderOptions {
  store: Pick<Store, 'attemptStats'>;
  logger: Logger;
  /** How often the counts gathered in memory are added to the store, in milliseconds. */
  flushIntervalMs: number;
}

/**
 * Counts recorded attempts per endpoint in minute, hour and day buckets. Counts gather in
 * memory and one upsert statement adds them to the store every `flushIntervalMs`, so the
 * cost per attempt is a map update. A process that crashes loses the counts of its last
 * interval; close() flushes them on a graceful shutdown. A flush that fails keeps its counts
 * for the next one.
 */
export class StatisticsRecorder implements AttemptObserver {
  private pending = new Map<string, StatIncrement>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly options: StatisticsRecorderOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  attemptFinished(event: AttemptFinishedEvent): void {
    const bin = latencyBin(event.durationMs);
    for (const granularity of Object.keys(statGranularities) as StatGranularity[]) {
      const start = bucketStart(granularity, event.startedAt);
      const key = `${event.endpointId}\u0000${granularity}\u0000${start}`;
      let increment = this.pending.get(key);
      if (increment === undefined) {
        increment = {
          appId: event.appId,
          endpointId: event.endpointId,
          granularity,
          bucketStart: start,
          success: 0,
          fail: 0,
          latency: new Array<number>(latencyBinBounds.length + 1).fill(0),
        };
        this.pending.set(key, increment);
      }
      if (event.outcome === 'success') {
        increment.success += 1;
      } else {
        increment.fail += 1;
      }
      increment.latency[bin] = (increment.latency[bin] ?? 0) + 1;
    }
  }

  /** Adds the gathered counts to the store. Concurrent calls share one write. */
  async flush(): Promise<void> {
    while (this.flushing) {
      await this.flushing;
    }
    if (this.pending.size === 0) {
      return;
    }
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: Map<string, StatIncrement>): Promise<void> {
    try {
      await this.options.store.attemptStats.add([...batch.values()]);
    } catch (error) {
      this.options.logger.error({ err: error, buckets: batch.size }, 'Failed to store delivery statistics; retrying with the next flush');
      for (const [key, increment] of batch) {
        this.merge(key, increment);
      }
    }
  }

  private merge(key: string, increment: StatIncrement): void {
    const current = this.pending.get(key);
    if (current === undefined) {
      this.pending.set(key, increment);
      return;
    }
    current.success += increment.success;
    current.fail += increment.fail;
    increment.latency.forEach((count, index) => {
      current.latency[index] = (current.latency[index] ?? 0) + count;
    });
  }
}
