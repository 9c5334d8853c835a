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

    const dueBefore = clock() - graceMs;
    const msgIds = await store.messages.listNotFannedOut(dueBefore, batchSize);
    if (msgIds.length > 0) {
      await queue.ensure<FanOutJob>('events', msgIds.map((msgId) => ({ id: msgId, data: { msgId } })));
    }
    const deliveryIds = await store.deliveries.listOverdue(dueBefore, batchSize);
    if (deliveryIds.length > 0) {
      await queue.ensure<DeliveryJob>('webhooks', deliveryIds.map((deliveryId) => ({ id: deliveryId, data: { deliveryId, trigger: 0 } })));
    }

    if (msgIds.length > 0 || deliveryIds.length > 0) {
      this.options.logger.warn(
        { fanOuts: msgIds.length, deliveries: deliveryIds.length },
        'Recovery sweep queued overdue work again; its queue jobs were lost or are very late',
      );
    }
    return { fanOuts: msgIds.length, deliveries: deliveryIds.length };
  }
}
