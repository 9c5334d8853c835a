import { z } from 'zod';
import { examplePayload, hasObjectExample } from '../../core/example-messages.js';
import { MessageLogRepository } from '../../store/repositories/message-log.js';
import { statusTexts } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import type { RouteTable } from '../route-table.js';
import { eventTypeName, messageListQuery, pathIdentifier } from '../schemas.js';
import { listOf, messageOut, messageOutSchema } from '../serializers.js';
import type { ApiServices } from '../services.js';

const endpointParams = z.object({ app_id: pathIdentifier, endpoint_id: pathIdentifier });
const attemptParams = z.object({ app_id: pathIdentifier, msg_id: pathIdentifier, attempt_id: pathIdentifier });

/** Request headers whose values the portal never shows; the same set the headers route hides. */
const hiddenHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

const iso = (milliseconds: number): string => new Date(milliseconds).toISOString();

const messageLogQuery = messageListQuery.omit({ channel: true, with_content: true }).extend({
  status: z
    .enum(['0', '1', '2', '3'], { error: 'must be 0 (success), 1 (pending), 2 (fail) or 3 (sending)' })
    .transform((value) => Number(value) as 0 | 1 | 2 | 3)
    .optional(),
});

const messageLogEntrySchema = z.object({
  id: z.string(),
  eventType: z.string(),
  eventId: z.string().nullable(),
  channels: z.array(z.string()).nullable(),
  timestamp: z.string(),
  deliveries: z.array(
    z.object({
      endpointId: z.string(),
      url: z.string().nullable(),
      status: z.number().int(),
      statusText: z.enum(['success', 'pending', 'fail', 'sending']),
      attemptCount: z.number().int(),
      nextAttempt: z.string().nullable(),
    }),
  ),
});

/**
 * Routes that the portal needs beyond the Svix API: sending a test event to one endpoint
 * (Svix's send-example), the request an attempt sent, and a message log with each message's
 * delivery states in one call.
 */
export function registerPortalRoutes(table: RouteTable, services: ApiServices, store: Store): void {
  const messageLog = new MessageLogRepository(store.db);

  table.define({
    method: 'POST',
    url: '/api/v1/app/:app_id/endpoint/:endpoint_id/send-example',
    operationId: 'v1.endpoint.send-example',
    summary: "Send a test event to this endpoint only, with the event type's example payload",
    tag: 'Endpoint',
    access: 'application',
    params: endpointParams,
    body: z.object({ eventType: eventTypeName }),
    status: 200,
    idempotent: true,
    response: messageOutSchema,
    handler: async ({ params, body }) => messageOut(await services.examples.send(params.app_id, params.endpoint_id, body.eventType)),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/event-type/:event_type_name/example',
    operationId: 'v1.event-type.get-example',
    summary: 'Get the payload that a test event of this event type carries',
    tag: 'Event Type',
    access: 'application',
    params: z.object({ event_type_name: eventTypeName }),
    status: 200,
    response: z.object({ payload: z.record(z.string(), z.unknown()), fromSchemaExamples: z.boolean() }),
    handler: async ({ params }) => {
      const eventType = await services.eventTypes.get(params.event_type_name);
      const payload = examplePayload(eventType.name, eventType.schemas);
      return { payload, fromSchemaExamples: hasObjectExample(eventType.schemas) };
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/request',
    operationId: 'v1.message-attempt.get-request',
    summary: 'Get the headers and body that an attempt sent; credential headers are hidden',
    tag: 'Message Attempt',
    access: 'application',
    params: attemptParams,
    status: 200,
    response: z.object({ headers: z.record(z.string(), z.string()), body: z.string() }),
    handler: async ({ params }) => {
      const attempt = await services.attempts.get(params.app_id, params.msg_id, params.attempt_id);
      const message = await services.messages.get(params.app_id, attempt.msgId);
      const headers = Object.fromEntries(
        Object.entries(attempt.requestHeaders).map(([name, value]) => [name, hiddenHeaders.has(name.toLowerCase()) ? '(hidden)' : value]),
      );
      return { headers, body: message.payload.toString('utf8') };
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/portal/message-log',
    operationId: 'v1.portal.message-log',
    summary: "List an application's messages, newest first, each with the status of its delivery to every endpoint",
    tag: 'Message',
    access: 'application',
    params: z.object({ app_id: pathIdentifier }),
    query: messageLogQuery,
    status: 200,
    response: listOf(messageLogEntrySchema),
    handler: async ({ params, query }) => {
      const application = await services.applications.get(params.app_id);
      const page = await messageLog.list(application.id, {
        limit: query.limit,
        iterator: query.iterator,
        eventTypes: query.event_types,
        status: query.status,
        before: query.before,
        after: query.after,
      });
      return {
        data: page.data.map((entry) => ({
          id: entry.id,
          eventType: entry.eventType,
          eventId: entry.eventId,
          channels: entry.channels,
          timestamp: iso(entry.createdAt),
          deliveries: entry.deliveries.map((delivery) => ({
            endpointId: delivery.endpointId,
            url: delivery.url,
            status: delivery.status,
            statusText: statusTexts[delivery.status] ?? 'pending',
            attemptCount: delivery.attemptCount,
            nextAttempt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
          })),
        })),
        iterator: page.iterator,
        prevIterator: page.prevIterator,
        done: page.done,
      };
    },
  });
}
