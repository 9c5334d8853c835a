import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import { WithStatus } from '../route-table.js';
import { eventTypeIn, eventTypeListQuery, eventTypePatch, eventTypeUpdate, expungeQuery, pathIdentifier } from '../schemas.js';
import { eventTypeOut, eventTypeOutSchema, listOf, pageOut } from '../serializers.js';
import type { ApiServices } from '../services.js';

const eventTypeParams = z.object({ event_type_name: pathIdentifier });

export function registerEventTypeRoutes(table: RouteTable, services: ApiServices): void {
  const tag = 'Event Type';

  table.define({
    method: 'GET',
    url: '/api/v1/event-type',
    operationId: 'v1.event-type.list',
    summary: 'List event types',
    tag,
    access: 'application',
    query: eventTypeListQuery,
    status: 200,
    response: listOf(eventTypeOutSchema),
    handler: async ({ query }) => {
      const page = await services.eventTypes.list(query, query.include_archived ?? false);
      return pageOut(page, (eventType) => eventTypeOut(eventType, query.with_content ?? true));
    },
  });

  table.define({
    method: 'POST',
    url: '/api/v1/event-type',
    operationId: 'v1.event-type.create',
    summary: 'Create an event type',
    tag,
    access: 'admin',
    body: eventTypeIn,
    status: 201,
    idempotent: true,
    response: eventTypeOutSchema,
    handler: async ({ body }) => eventTypeOut(await services.eventTypes.create(body)),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/event-type/:event_type_name',
    operationId: 'v1.event-type.get',
    summary: 'Get an event type',
    tag,
    access: 'application',
    params: eventTypeParams,
    status: 200,
    response: eventTypeOutSchema,
    handler: async ({ params }) => eventTypeOut(await services.eventTypes.get(params.event_type_name)),
  });

  table.define({
    method: 'PUT',
    url: '/api/v1/event-type/:event_type_name',
    operationId: 'v1.event-type.update',
    summary: 'Replace an event type, creating it when missing',
    tag,
    access: 'admin',
    params: eventTypeParams,
    body: eventTypeUpdate,
    status: 200,
    response: eventTypeOutSchema,
    handler: async ({ params, body }) => {
      const { eventType, created } = await services.eventTypes.update(params.event_type_name, body);
      return new WithStatus(created ? 201 : 200, eventTypeOut(eventType));
    },
  });

  table.define({
    method: 'PATCH',
    url: '/api/v1/event-type/:event_type_name',
    operationId: 'v1.event-type.patch',
    summary: 'Change some fields of an event type',
    tag,
    access: 'admin',
    params: eventTypeParams,
    body: eventTypePatch,
    status: 200,
    response: eventTypeOutSchema,
    handler: async ({ params, body }) => eventTypeOut(await services.eventTypes.patch(params.event_type_name, body)),
  });

  table.define({
    method: 'DELETE',
    url: '/api/v1/event-type/:event_type_name',
    operationId: 'v1.event-type.delete',
    summary: 'Archive an event type, or delete it for good with expunge=true',
    tag,
    access: 'admin',
    params: eventTypeParams,
    query: expungeQuery,
    status: 204,
    handler: async ({ params, query }) => services.eventTypes.delete(params.event_type_name, query.expunge ?? false),
  });
}
