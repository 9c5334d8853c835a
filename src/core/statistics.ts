import {
  bucketStart,
  latencyQuantile,
  statGranularities,
  type StatGranularity,
  type StatTotals,
} from '../store/repositories/attempt-stats.js';
import type { Store } from '../store/store.js';
import type { ApplicationService } from './applications.js';
import type { Clock } from './clock.js';
import { NotFoundError, ValidationError } from './errors.js';

/** Maximum buckets of one time series, so one request cannot ask for millions of rows. */
export const maxSeriesBuckets = 2_000;

/** Buckets of a time series when the request gives no `since`, the last one containing `until`. */
const defaultSeriesBuckets = 24;

export interface SeriesPoint {
  start: string;
  success: number;
  fail: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface AttemptSeries {
  granularity: StatGranularity;
  data: SeriesPoint[];
}

export interface EndpointRanking {
  appId: string;
  endpointId: string;
  url: string | null;
  success: number;
  fail: number;
  successRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface SeriesRequest {
  /** Application id or uid; undefined for every application. */
  app?: string | undefined;
  /** Endpoint id or uid inside `app`. */
  endpoint?: string | undefined;
  granularity: StatGranularity;
  since?: number | undefined;
  until?: number | undefined;
}

export interface RankingRequest {
  app?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

/**
 * Reads the delivery statistics that StatisticsRecorder keeps: time series and endpoint
 * rankings from the bucket table, never from the attempts.
 */
export class StatisticsService {
  constructor(
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly clock: Clock,
  ) {}

  /** Attempt counts and latency per bucket from `since` to `until`, empty buckets included. */
  async series(request: SeriesRequest): Promise<AttemptSeries> {
    const size = statGranularities[request.granularity];
    const until = request.until ?? this.clock();
    const since = request.since ?? bucketStart(request.granularity, until) - (defaultSeriesBuckets - 1) * size;
    const first = bucketStart(request.granularity, since);
    checkRange(since, until);
    const bucketCount = Math.ceil((until - first) / size);
    if (bucketCount > maxSeriesBuckets) {
      throw ValidationError.field(
        ['query', 'since'],
        `The range from since to until has ${bucketCount} ${request.granularity} buckets; at most ${maxSeriesBuckets} are allowed. Use a later since or a larger granularity.`,
      );
    }

    const scope = await this.resolveScope(request.app, request.endpoint);
    const buckets = await this.store.attemptStats.series({ granularity: request.granularity, since: first, until, ...scope });
    const byStart = new Map(buckets.map((bucket) => [bucket.bucketStart, bucket]));
    const data: SeriesPoint[] = [];
    for (let start = first; start < until; start += size) {
      const bucket = byStart.get(start);
      data.push({ start: new Date(start).toISOString(), ...summarize(bucket) });
    }
    return { granularity: request.granularity, data };
  }

  /**
   * Attempt totals per endpoint from `since` to `until`, most failing first. The range is
   * widened to whole buckets of the largest granularity that keeps it under 400 buckets.
   */
  async ranking(request: RankingRequest): Promise<EndpointRanking[]> {
    const until = request.until ?? this.clock();
    const since = request.since ?? until - 86_400_000;
    checkRange(since, until);
    const granularity = rankingGranularity(until - since);
    const scope = await this.resolveScope(request.app, undefined);

    const totals = await this.store.attemptStats.byEndpoint({ granularity, since: bucketStart(granularity, since), until, ...scope });
    const rows = await Promise.all(
      totals.map(async (total) => {
        const endpoint = await this.store.endpoints.findById(total.endpointId);
        const attempts = total.success + total.fail;
        return {
          appId: total.appId,
          endpointId: total.endpointId,
          url: endpoint?.url ?? null,
          success: total.success,
          fail: total.fail,
          successRate: attempts === 0 ? null : total.success / attempts,
          p50Ms: latencyQuantile(total.latency, 0.5),
          p95Ms: latencyQuantile(total.latency, 0.95),
        };
      }),
    );
    return rows.sort((a, b) => b.fail - a.fail || (a.successRate ?? 1) - (b.successRate ?? 1) || a.endpointId.localeCompare(b.endpointId));
  }

  private async resolveScope(app: string | undefined, endpoint: string | undefined): Promise<{ appId?: string; endpointId?: string }> {
    if (app === undefined) {
      return {};
    }
    const application = await this.applications.get(app);
    if (endpoint === undefined) {
      return { appId: application.id };
    }
    // The id comes from the query string, and the message does not repeat it, so a request
    // cannot learn whether an id of another application exists.
    const found = await this.store.endpoints.findByIdOrUid(application.id, endpoint);
    if (!found) {
      throw new NotFoundError('Endpoint of the query parameter endpoint_id');
    }
    return { appId: application.id, endpointId: found.id };
  }
}

function checkRange(since: number, until: number): void {
  if (since >= until) {
    throw ValidationError.field(
      ['query', 'since'],
      `since (${new Date(since).toISOString()}) must be earlier than until (${new Date(until).toISOString()}); until defaults to now.`,
    );
  }
}

function rankingGranularity(rangeMs: number): StatGranularity {
  if (rangeMs <= 400 * statGranularities.minute) {
    return 'minute';
  }
  if (rangeMs <= 400 * statGranularities.hour) {
    return 'hour';
  }
  return 'day';
}

function summarize(totals: StatTotals | undefined): Omit<SeriesPoint, 'start'> {
  if (totals === undefined) {
    return { success: 0, fail: 0, p50Ms: null, p95Ms: null };
  }
  return {
    success: totals.success,
    fail: totals.fail,
    p50Ms: latencyQuantile(totals.latency, 0.5),
    p95Ms: latencyQuantile(totals.latency, 0.95),
  };
}
