import type { SharedState } from '../cache/contract.js';
import type { Logger } from '../observability/logger.js';
import type { Queue } from '../queue/contract.js';
import type { DeliveryJob, FanOutJob } from '../queue/jobs.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';

export interface RecoverySweepOptions {
  store: Store;
  queue: Queue;
  state: SharedState;
  logger: Logger;
  clock: Clock;
  /** Time between sweeps, in milliseconds. */
  intervalMs: number;
  /**
   * How late a job must be before the sweep adds it again, in milliseconds. Longer than a
   * queue lock, so a job whose worker died is first left to the queue's own stall handling.
   */
  graceMs: number;
  /** Rows handled per sweep and kind. */
  batchSize?: number;
}

/** Batches one sweep reads at most, per kind of work. */
const maxPagesPerSweep = 50;

/**
 * Finds work whose queue job was lost and queues it again. The store is the record of
 * what must happen: a message not yet fanned out, or a pending delivery whose next attempt
 * is long overdue. A queue outside the database can lose jobs (a Redis restart without
 * persistence, an eviction), and this sweep brings them back. `Queue.ensure` adds a job
 * only where none exists under its id, so a job still waiting is left in its place.
 * One process sweeps at a time, by a lock in the shared state.
 */
export class RecoverySweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: RecoverySweepOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'Recovery sweep failed; the next one tries again'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs one sweep now and returns how many jobs it queued again. */
  async sweep(): Promise<{ fanOuts: number; deliveries: number }> {
    const { store, queue, state, clock, graceMs } = this.options;
    const batchSize = this.options.batchSize ?? 1_000;
    const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    if (!(await state.setIfAbsent('recovery-sweep', owner, Math.max(this.options.intervalMs, 1_000)))) {
      return { fanOuts: 0, deliveries: 0 };
    }

    // Overdue rows whose jobs still exist come back from the store too, so the sweep pages
    // through all of them (up to a bound) instead of stopping at the first batch.
    const dueBefore = clock() - graceMs;
    let fanOuts = 0;
    let deliveries = 0;
    let afterMessage: string | undefined;
    let afterDelivery: { nextAttemptAt: number; id: string } | undefined;
    for (let page = 0; page < maxPagesPerSweep; page += 1) {
      const msgIds = await store.messages.listNotFannedOut(dueBefore, batchSize, afterMessage);
      if (msgIds.length > 0) {
        fanOuts += await queue.ensure<FanOutJob>('events', msgIds.map((msgId) => ({ id: msgId, data: { msgId } })));
      }
      const overdue = await store.deliveries.listOverdue(dueBefore, batchSize, afterDelivery);
      if (overdue.length > 0) {
        deliveries += await queue.ensure<DeliveryJob>(
          'webhooks',
          overdue.map(({ id }) => ({ id, data: { deliveryId: id, trigger: 0 } })),
        );
      }

      afterMessage = msgIds[msgIds.length - 1];
      afterDelivery = overdue[overdue.length - 1];
      if (msgIds.length < batchSize && overdue.length < batchSize) {
        break;
      }
    }

    if (fanOuts > 0 || deliveries > 0) {
      this.options.logger.warn({ fanOuts, deliveries }, 'Recovery sweep queued overdue work again because its queue jobs were lost');
    }
    return { fanOuts, deliveries };
  }
}
