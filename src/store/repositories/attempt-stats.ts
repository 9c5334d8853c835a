import { sql, type Kysely } from 'kysely';
import { latencyBinBounds, latencyBinColumn } from '../migrations/0006-observability.js';
import type { AttemptStatTable, Database } from '../schema.js';

/** Bucket sizes of the statistics, each with its length in milliseconds. */
export const statGranularities = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type StatGranularity = keyof typeof statGranularities;

/** Start of the UTC bucket of `granularity` that contains `time`. */
export function bucketStart(granularity: StatGranularity, time: number): number {
  const size = statGranularities[granularity];
  return Math.floor(time / size) * size;
}

/** Index of the latency bin that counts an attempt of `durationMs`. */
export function latencyBin(durationMs: number): number {
  const index = latencyBinBounds.findIndex((bound) => durationMs <= bound);
  return index === -1 ? latencyBinBounds.length : index;
}

/** Counts to add to one bucket of one endpoint. */
export interface StatIncrement {
  appId: string;
  endpointId: string;
  granularity: StatGranularity;
  bucketStart: number;
  success: number;
  fail: number;
  /** Attempts per latency bin, `latencyBinBounds.length + 1` entries. */
  latency: number[];
}

/** Totals of a set of buckets. */
export interface StatTotals {
  success: number;
  fail: number;
  latency: number[];
}

export interface StatBucket extends StatTotals {
  bucketStart: number;
}

export interface EndpointStatTotals extends StatTotals {
  appId: string;
  endpointId: string;
}

export interface StatQuery {
  granularity: StatGranularity;
  /** First bucket start included. */
  since: number;
  /** Buckets that start before this are included. */
  until: number;
  appId?: string | undefined;
  endpointId?: string | undefined;
}

const binColumns = Array.from({ length: latencyBinBounds.length + 1 }, (_, index) => latencyBinColumn(index));

function readLatency(row: Record<string, unknown>): number[] {
  return binColumns.map((column) => Number(row[column] ?? 0));
}

/**
 * Attempt counts and latency bins per endpoint in minute, hour and day buckets. Writers add
 * to a bucket with an upsert, so reads never scan the attempts.
 */
export class AttemptStatRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Adds the increments, creating the buckets that do not exist yet, in one statement. */
  async add(increments: readonly StatIncrement[]): Promise<void> {
    if (increments.length === 0) {
      return;
    }
    const rows = increments.map((increment) => {
      const row: Record<string, string | number> = {
        endpoint_id: increment.endpointId,
        granularity: increment.granularity,
        bucket_start: increment.bucketStart,
        app_id: increment.appId,
        success: increment.success,
        fail: increment.fail,
      };
      binColumns.forEach((column, index) => {
        row[column] = increment.latency[index] ?? 0;
      });
      return row as unknown as AttemptStatTable;
    });

    const additions: Record<string, unknown> = {};
    for (const column of ['success', 'fail', ...binColumns] as const) {
      additions[column] = sql`attempt_stat.${sql.ref(column)} + excluded.${sql.ref(column)}`;
    }
    await this.db
      .insertInto('attempt_stat')
      .values(rows)
      .onConflict((conflict) => conflict.columns(['endpoint_id', 'granularity', 'bucket_start']).doUpdateSet(additions as never))
      .execute();
  }

  /** Sums the buckets of the query per bucket start, in time order. Empty buckets are absent. */
  async series(query: StatQuery): Promise<StatBucket[]> {
    const rows = await this.filtered(query)
      .select('bucket_start')
      .select(sumColumns())
      .groupBy('bucket_start')
      .orderBy('bucket_start')
      .execute();
    return rows.map((row) => ({ bucketStart: Number(row.bucket_start), ...readTotals(row as Record<string, unknown>) }));
  }

  /** Sums the buckets of the query per endpoint. */
  async byEndpoint(query: StatQuery): Promise<EndpointStatTotals[]> {
    const rows = await this.filtered(query).select(['app_id', 'endpoint_id']).select(sumColumns()).groupBy(['app_id', 'endpoint_id']).execute();
    return rows.map((row) => ({ appId: row.app_id, endpointId: row.endpoint_id, ...readTotals(row as Record<string, unknown>) }));
  }

  /** Deletes up to `limit` buckets of `granularity` that started before `before`. Returns how many. */
  async deleteBefore(granularity: StatGranularity, before: number, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('attempt_stat')
      .where((eb) =>
        eb(
          eb.refTuple('endpoint_id', 'granularity', 'bucket_start'),
          'in',
          eb
            .selectFrom('attempt_stat')
            .select(['endpoint_id', 'granularity', 'bucket_start'])
            .where('granularity', '=', granularity)
            .where('bucket_start', '<', before)
            .limit(limit)
            .$asTuple('endpoint_id', 'granularity', 'bucket_start'),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private filtered(query: StatQuery) {
    let builder = this.db
      .selectFrom('attempt_stat')
      .where('granularity', '=', query.granularity)
      .where('bucket_start', '>=', query.since)
      .where('bucket_start', '<', query.until);
    if (query.appId !== undefined) {
      builder = builder.where('app_id', '=', query.appId);
    }
    if (query.endpointId !== undefined) {
      builder = builder.where('endpoint_id', '=', query.endpointId);
    }
    return builder;
  }
}

function sumColumns() {
  return ['success', 'fail', ...binColumns].map((column) => sql<string | number>`sum(${sql.ref(column)})`.as(column));
}

/** Reads summed columns; PostgreSQL returns sums of bigint as strings. */
function readTotals(row: Record<string, unknown>): StatTotals {
  return { success: Number(row.success ?? 0), fail: Number(row.fail ?? 0), latency: readLatency(row) };
}

/**
 * Estimates the `quantile` (0..1) of the attempt durations counted in `latency`, in whole
 * milliseconds, by linear interpolation inside the bin that contains it. Returns null when
 * the bins are empty. The estimate is exact to the width of that bin; in the open last bin
 * (above 30 s) it returns the bin's lower bound.
 */
export function latencyQuantile(latency: readonly number[], quantile: number): number | null {
  const total = latency.reduce((sum, count) => sum + count, 0);
  if (total === 0) {
    return null;
  }
  const target = quantile * total;
  let below = 0;
  for (let index = 0; index < latency.length; index += 1) {
    const count = latency[index] ?? 0;
    if (count > 0 && below + count >= target) {
      const lower = index === 0 ? 0 : (latencyBinBounds[index - 1] ?? 0);
      const upper = latencyBinBounds[index];
      if (upper === undefined) {
        return lower;
      }
      return Math.round(lower + ((upper - lower) * (target - below)) / count);
    }
    below += count;
  }
  return latencyBinBounds[latencyBinBounds.length - 1] ?? null;
}
