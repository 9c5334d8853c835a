import { sql } from 'kysely';
import type { Queue, QueueName } from '../queue/contract.js';
import { bucketStart, statGranularities } from '../store/repositories/attempt-stats.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';

export interface QueueOverview {
  name: QueueName;
  waiting: number;
  delayed: number;
  active: number;
  /** How long the oldest waiting job has been due, or null when none waits. */
  oldestAgeMs: number | null;
}

export interface SystemOverview {
  mode: 'embedded' | 'scaled';
  version: string;
  queues: QueueOverview[];
  /** Jobs written to the outbox and not yet moved to Redis; always 0 in the embedded mode. */
  outboxBacklog: number;
  openBreakers: number;
  disabledEndpoints: number;
  throughput: {
    /** Messages accepted in the last 60 seconds. */
    acceptedLastMinute: number;
    /** Attempts recorded in the last complete minute bucket of the statistics. */
    attemptsLastMinute: number;
  };
}

export interface SystemOverviewOptions {
  store: Store;
  queue: Queue;
  mode: 'embedded' | 'scaled';
  version: string;
  clock: Clock;
  /** Counts endpoints whose circuit breaker is open or half-open. */
  countOpenBreakers?: () => Promise<number>;
}

const queueNames: QueueName[] = ['events', 'webhooks'];

/** Gathers what an operator checks first: queue depths and ages, backlogs and throughput. */
export class SystemOverviewService {
  constructor(private readonly options: SystemOverviewOptions) {}

  async overview(): Promise<SystemOverview> {
    const { store, clock } = this.options;
    const now = clock();
    const [queues, outboxBacklog, openBreakers, disabledEndpoints, acceptedLastMinute, attemptsLastMinute] = await Promise.all([
      Promise.all(queueNames.map((name) => this.queueOverview(name, now))),
      countRows(store.db.selectFrom('outbox').select(sql<number | string>`count(*)`.as('count'))),
      this.options.countOpenBreakers?.() ?? Promise.resolve(0),
      countRows(store.db.selectFrom('endpoint').select(sql<number | string>`count(*)`.as('count')).where('disabled', '=', 1)),
      countRows(store.db.selectFrom('message').select(sql<number | string>`count(*)`.as('count')).where('created_at', '>', now - 60_000)),
      this.attemptsInPreviousMinute(now),
    ]);

    return {
      mode: this.options.mode,
      version: this.options.version,
      queues,
      outboxBacklog,
      openBreakers,
      disabledEndpoints,
      throughput: { acceptedLastMinute, attemptsLastMinute },
    };
  }

  private async queueOverview(name: QueueName, now: number): Promise<QueueOverview> {
    const [counts, oldestDueAt] = await Promise.all([this.options.queue.counts(name), this.options.queue.oldestWaitingDueAt(name)]);
    return { name, ...counts, oldestAgeMs: oldestDueAt === null ? null : Math.max(0, now - oldestDueAt) };
  }

  private async attemptsInPreviousMinute(now: number): Promise<number> {
    const start = bucketStart('minute', now) - statGranularities.minute;
    const [bucket] = await this.options.store.attemptStats.series({ granularity: 'minute', since: start, until: start + statGranularities.minute });
    return bucket === undefined ? 0 : bucket.success + bucket.fail;
  }
}

async function countRows(query: { executeTakeFirst(): Promise<{ count: number | string } | undefined> }): Promise<number> {
  const row = await query.executeTakeFirst();
  return Number(row?.count ?? 0);
}
