import { z } from 'zod';
import type { RouteTable } from '../route-table.js';
import { attemptListQuery, messageIn, messageListQuery, pageQuery, pathIdentifier, withContentQuery } from '../schemas.js';
import {
  attemptOut,
  attemptOutSchema,
  endpointMessageOut,
  endpointMessageOutSchema,
  listOf,
  messageEndpointOut,
  messageEndpointOutSchema,
  messageOut,
  messageOutSchema,
  pageOut,
} from '../serializers.js';
import type { ApiServices } from '../services.js';

const appParams = z.object({ app_id: pathIdentifier });
const messageParams = z.object({ app_id: pathIdentifier, msg_id: pathIdentifier });
const endpointParams = z.object({ app_id: pathIdentifier, endpoint_id: pathIdentifier });

function attemptFilter(query: z.output<typeof attemptListQuery>) {
  return {
    limit: query.limit,
    iterator: query.iterator,
    status: query.status,
    statusCodeClass: query.status_code_class,
    channel: query.channel,
    before: query.before,
    after: query.after,
    eventTypes: query.event_types,
    endpointId: query.endpoint_id,
  };
}

export function registerMessageRoutes(table: RouteTable, services: ApiServices): void {
  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/msg',
    operationId: 'v1.message.list',
    summary: "List an application's messages, newest first",
    tag: 'Message',
    access: 'application',
    params: appParams,
    query: messageListQuery,
    status: 200,
    response: listOf(messageOutSchema),
    handler: async ({ params, query }) => {
      const page = await services.messages.list(params.app_id, {
        limit: query.limit,
        iterator: query.iterator,
        channel: query.channel,
        before: query.before,
        after: query.after,
        eventTypes: query.event_types,
      });
      return pageOut(page, (message) => messageOut(message, query.with_content ?? true));
    },
  });

  table.define({
    method: 'POST',
    url: '/api/v1/app/:app_id/msg',
    operationId: 'v1.message.create',
    summary: 'Send a message to every endpoint of the application that subscribed to its event type',
    tag: 'Message',
    access: 'admin',
    params: appParams,
    query: withContentQuery,
    body: messageIn,
    status: 202,
    idempotent: true,
    response: messageOutSchema,
    handler: async ({ params, query, body }) =>
      messageOut(await services.messages.create(params.app_id, body), query.with_content ?? true),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/msg/:msg_id',
    operationId: 'v1.message.get',
    summary: 'Get a message by id or eventId',
    tag: 'Message',
    access: 'application',
    params: messageParams,
    query: withContentQuery,
    status: 200,
    response: messageOutSchema,
    handler: async ({ params, query }) =>
      messageOut(await services.messages.get(params.app_id, params.msg_id), query.with_content ?? true),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/attempt/endpoint/:endpoint_id',
    operationId: 'v1.message-attempt.list-by-endpoint',
    summary: 'List the attempts made to an endpoint, newest first',
    tag: 'Message Attempt',
    access: 'application',
    params: endpointParams,
    query: attemptListQuery,
    status: 200,
    response: listOf(attemptOutSchema),
    handler: async ({ params, query }) =>
      pageOut(await services.attempts.listByEndpoint(params.app_id, params.endpoint_id, attemptFilter(query)), attemptOut),
  });

  for (const url of ['/api/v1/app/:app_id/attempt/msg/:msg_id', '/api/v1/app/:app_id/msg/:msg_id/attempt']) {
    table.define({
      method: 'GET',
      url,
      operationId: url.endsWith('/attempt') ? 'v1.message-attempt.list-by-msg-deprecated' : 'v1.message-attempt.list-by-msg',
      summary: 'List the attempts made for a message, newest first',
      tag: 'Message Attempt',
      access: 'application',
      params: messageParams,
      query: attemptListQuery,
      status: 200,
      response: listOf(attemptOutSchema),
      handler: async ({ params, query }) =>
        pageOut(await services.attempts.listByMessage(params.app_id, params.msg_id, attemptFilter(query)), attemptOut),
    });
  }

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id',
    operationId: 'v1.message-attempt.get',
    summary: 'Get one attempt',
    tag: 'Message Attempt',
    access: 'application',
    params: messageParams.extend({ attempt_id: pathIdentifier }),
    status: 200,
    response: attemptOutSchema,
    handler: async ({ params }) => attemptOut(await services.attempts.get(params.app_id, params.msg_id, params.attempt_id)),
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/endpoint/:endpoint_id/msg',
    operationId: 'v1.message-attempt.list-attempted-messages',
    summary: 'List the messages sent to an endpoint with their delivery status, newest first',
    tag: 'Message Attempt',
    access: 'application',
    params: endpointParams,
    query: attemptListQuery,
    status: 200,
    response: listOf(endpointMessageOutSchema),
    handler: async ({ params, query }) => {
      const page = await services.attempts.listAttemptedMessages(params.app_id, params.endpoint_id, {
        limit: query.limit,
        iterator: query.iterator,
        status: query.status,
        channel: query.channel,
        before: query.before,
        after: query.after,
        eventTypes: query.event_types,
      });
      return pageOut(page, (item) => endpointMessageOut(item.message, item.delivery, query.with_content ?? true));
    },
  });

  table.define({
    method: 'GET',
    url: '/api/v1/app/:app_id/msg/:msg_id/endpoint',
    operationId: 'v1.message-attempt.list-attempted-destinations',
    summary: 'List the endpoints a message was sent to, with their delivery status',
    tag: 'Message Attempt',
    access: 'application',
    params: messageParams,
    query: pageQuery.pick({ limit: true, iterator: true }),
    status: 200,
    response: listOf(messageEndpointOutSchema),
    handler: async ({ params, query }) => {
      const page = await services.attempts.listDestinations(params.app_id, params.msg_id, query.limit, query.iterator);
      return pageOut(page, (item) => messageEndpointOut(item.endpoint, item.delivery));
    },
  });

  table.define({
    method: 'POST',
    url: '/api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend',
    operationId: 'v1.message-attempt.resend',
    summary: 'Send a message to an endpoint again now',
    tag: 'Message Attempt',
    access: 'application',
    params: messageParams.extend({ endpoint_id: pathIdentifier }),
    status: 202,
    idempotent: true,
    response: z.object({}),
    handler: async ({ params }) => {
      await services.redelivery.resend(params.app_id, params.msg_id, params.endpoint_id);
      return {};
    },
  });
}
