import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import { isoDate, pathIdentifier } from '../schemas.js';
import type { ApiServices } from '../services.js';

const granularity = z.enum(['minute', 'hour', 'day']);
const range = { since: isoDate.optional(), until: isoDate.optional() };
const seriesQuery = z.object({ granularity: granularity.default('hour'), ...range, endpoint_id: pathIdentifier.optional() });
const rangeQuery = z.object(range);

const seriesOut = z.object({
  granularity,
  data: z.array(
    z.object({ start: z.string(), success: z.number().int(), fail: z.number().int(), p50Ms: z.number().nullable(), p95Ms: z.number().nullable() }),
  ),
});
const rankingOut = z.object({
  data: z.array(
    z.object({
      appId: z.string(),
      endpointId: z.string(),
      url: z.string().nullable(),
      success: z.number().int(),
      fail: z.number().int(),
      successRate: z.number().nullable(),
      p50Ms: z.number().nullable(),
      p95Ms: z.number().nullable(),
    }),
  ),
});
const queueOut = z.object({
  name: z.string(),
  waiting: z.number().int(),
  delayed: z.number().int(),
  active: z.number().int(),
  oldestAgeMs: z.number().nullable(),
});
const overviewOut = z.object({
  mode: z.enum(['embedded', 'scaled']),
  version: z.string(),
  queues: z.array(queueOut),
  outboxBacklog: z.number().int(),
  openBreakers: z.number().int(),
  disabledEndpoints: z.number().int(),
  throughput: z.object({ acceptedLastMinute: z.number().int(), attemptsLastMinute: z.number().int() }),
});

/** Statistics for charts and rankings, the system overview, and the expunge routes. */
export function registerStatisticsRoutes(table: RouteTable, services: ApiServices): void {
  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/stats/attempts',
    operationId: 'v1.statistics.app-attempts',
    summary: 'Attempt counts and latency of an application (or one endpoint) per time bucket, empty buckets included',
    tag: 'Statistics',
    access: 'application',
    params: z.object({ app_id: pathIdentifier }),
    query: seriesQuery,
    status: 200,
    response: seriesOut,
    handler: ({ params, query }) =>
      services.statistics.series({ app: params.app_id, endpoint: query.endpoint_id, granularity: query.granularity, since: query.since, until: query.until }),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/stats/attempts',
    operationId: 'v1.statistics.attempts',
    summary: 'Attempt counts and latency of every application per time bucket, empty buckets included',
    tag: 'Statistics',
    access: 'admin',
    query: seriesQuery.omit({ endpoint_id: true }),
    status: 200,
    response: seriesOut,
    handler: ({ query }) => services.statistics.series({ granularity: query.granularity, since: query.since, until: query.until }),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/stats/endpoints',
    operationId: 'v1.statistics.app-endpoints',
    summary: 'Attempt totals per endpoint of an application, most failing first',
    tag: 'Statistics',
    access: 'application',
    params: z.object({ app_id: pathIdentifier }),
    query: rangeQuery,
    status: 200,
    response: rankingOut,
    handler: async ({ params, query }) => ({ data: await services.statistics.ranking({ app: params.app_id, since: query.since, until: query.until }) }),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/stats/endpoints',
    operationId: 'v1.statistics.endpoints',
    summary: 'Attempt totals per endpoint of every application, most failing first',
    tag: 'Statistics',
    access: 'admin',
    query: rangeQuery,
    status: 200,
    response: rankingOut,
    handler: async ({ query }) => ({ data: await services.statistics.ranking({ since: query.since, until: query.until }) }),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/system/overview',
    operationId: 'v1.system.overview',
    summary: 'Mode, version, queue depths and ages, outbox backlog, breakers, disabled endpoints and throughput',
    tag: 'Health',
    access: 'admin',
    status: 200,
    response: overviewOut,
    handler: () => services.overview.overview(),
  });

  table.define({
    method: 'DELETE',
    url: '/api/v1/app/:app_id/msg/:msg_id/content',
    operationId: 'v1.message.expunge-content',
    summary: 'Delete the payload of a message now; the message stays with an empty payload',
    tag: 'Message',
    access: 'application',
    params: z.object({ app_id: pathIdentifier, msg_id: pathIdentifier }),
    status: 204,
    handler: ({ params }) => services.content.expungeMessage(params.app_id, params.msg_id),
  });

  table.define({
    method: 'DELETE',
    url: '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/content',
    operationId: 'v1.message-attempt.expunge-content',
    summary: 'Delete the response body of an attempt now; the attempt stays as metadata',
    tag: 'Message Attempt',
    access: 'application',
    params: z.object({ app_id: pathIdentifier, msg_id: pathIdentifier, attempt_id: pathIdentifier }),
    status: 204,
    handler: ({ params }) => services.content.expungeAttempt(params.app_id, params.msg_id, params.attempt_id),
  });
}
