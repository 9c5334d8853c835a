import { z } from 'zod';
import type { StreamFilter } from '../../core/message-stream.js';
import { serveEventStream } from '../event-stream.js';
import type { RouteTable } from '../route-table.js';
import { eventsQuery, eventStreamQuery, pathIdentifier } from '../schemas.js';
import { eventsOutSchema, messageOut } from '../serializers.js';
import type { ApiServices } from '../services.js';

const appParams = z.object({ app_id: pathIdentifier });

export interface EventRouteOptions {
  /** Maximum silence on an event stream before a heartbeat comment, in milliseconds. */
  heartbeatMs: number;
}

function filterOf(query: { event_types?: string[] | undefined; channels?: string[] | undefined; after?: number | undefined }): StreamFilter {
  return { eventTypes: query.event_types, channels: query.channels, createdAfter: query.after };
}

/** Registers the pull API: an application's messages in commit order, by page with long polling or as server-sent events. */
export function registerEventRoutes(table: RouteTable, services: ApiServices, options: EventRouteOptions): void {
  const stream = services.stream;

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/events',
    operationId: 'v1.message.events',
    summary: "Read an application's messages in the order they were committed; with wait, hold the request until one arrives",
    tag: 'Events',
    access: 'application',
    params: appParams,
    query: eventsQuery,
    status: 200,
    response: eventsOutSchema,
    handler: async ({ params, query, reply }) => {
      const application = await stream.application(params.app_id);
      const after = stream.parsePosition(query.iterator, ['query', 'iterator']) ?? stream.start;

      // The request ends early when the client disconnects or the server shuts down.
      const disconnected = new AbortController();
      const onClose = () => disconnected.abort();
      reply.raw.on('close', onClose);
      try {
        const result = await stream.poll(application.id, after, query.limit, filterOf(query), query.wait * 1000, disconnected.signal);
        return {
          data: result.items.map((item) => messageOut(item.message)),
          iterator: result.position,
          done: result.done,
        };
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/events/stream',
    operationId: 'v1.message.events-stream',
    summary:
      "Follow an application's messages as server-sent events: one event per message, its iterator as the event id, resumable with Last-Event-ID",
    tag: 'Events',
    access: 'application',
    params: appParams,
    query: eventStreamQuery,
    status: 200,
    responseMediaType: 'text/event-stream',
    handler: async ({ params, query, request, reply }) => {
      const application = await stream.application(params.app_id);
      const lastEventId = request.headers['last-event-id'];
      const resumeFrom = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
      const start =
        stream.parsePosition(resumeFrom, ['header', 'last-event-id']) ??
        stream.parsePosition(query.iterator, ['query', 'iterator']) ??
        (query.after === undefined ? await stream.end(application.id) : stream.start);

      await serveEventStream(request, reply, {
        stream,
        appId: application.id,
        start,
        filter: filterOf(query),
        heartbeatMs: options.heartbeatMs,
      });
      return undefined;
    },
  });
}
