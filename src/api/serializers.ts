import { z } from 'zod';
import type { Application, Attempt, Delivery, Endpoint, EventType, Message } from '../store/records.js';
import { statusTexts } from '../store/records.js';
import type { Page } from '../store/pagination.js';

const iso = (milliseconds: number): string => new Date(milliseconds).toISOString();

// `rateLimit` and `filterTypes` repeat `throttleRate` and `eventTypes` under the names
// that the svix client libraries (v1.x) read. The spec's names stay the main ones.

export function applicationOut(application: Application) {
  return {
    id: application.id,
    uid: application.uid,
    name: application.name,
    throttleRate: application.throttleRate,
    rateLimit: application.throttleRate,
    metadata: application.metadata,
    createdAt: iso(application.createdAt),
    updatedAt: iso(application.updatedAt),
  };
}

export function eventTypeOut(eventType: EventType, withContent = true) {
  return {
    name: eventType.name,
    description: eventType.description,
    schemas: withContent ? eventType.schemas : null,
    archived: eventType.archived,
    deprecated: eventType.deprecated,
    featureFlag: eventType.featureFlag,
    createdAt: iso(eventType.createdAt),
    updatedAt: iso(eventType.updatedAt),
  };
}

export function endpointOut(endpoint: Endpoint) {
  return {
    id: endpoint.id,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    disabled: endpoint.disabled,
    throttleRate: endpoint.throttleRate,
    rateLimit: endpoint.throttleRate,
    eventTypes: endpoint.eventTypes,
    filterTypes: endpoint.eventTypes,
    channels: endpoint.channels,
    metadata: endpoint.metadata,
    version: 1,
    createdAt: iso(endpoint.createdAt),
    updatedAt: iso(endpoint.updatedAt),
  };
}

/** Parses the stored payload back. It is always a JSON object, because the API accepts only objects. */
export function payloadOf(message: Message): unknown {
  return JSON.parse(message.payload.toString('utf8'));
}

export function messageOut(message: Message, withContent = true) {
  return {
    id: message.id,
    eventType: message.eventType,
    eventId: message.eventId,
    payload: withContent ? payloadOf(message) : {},
    channels: message.channels,
    tags: message.tags,
    timestamp: iso(message.createdAt),
  };
}

export function attemptOut(attempt: Attempt) {
  return {
    id: attempt.id,
    msgId: attempt.msgId,
    endpointId: attempt.endpointId,
    url: attempt.url,
    status: attempt.status,
    statusText: statusTexts[attempt.status],
    response: attempt.response,
    responseStatusCode: attempt.responseStatusCode,
    responseDurationMs: attempt.responseDurationMs,
    triggerType: attempt.triggerType,
    timestamp: iso(attempt.createdAt),
  };
}

/** Serializes a message with the state of its delivery to one endpoint. */
export function endpointMessageOut(message: Message, delivery: Delivery, withContent = true) {
  return {
    ...messageOut(message, withContent),
    status: delivery.status,
    statusText: statusTexts[delivery.status],
    nextAttempt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
  };
}

/** Serializes an endpoint with the state of one message's delivery to it. */
export function messageEndpointOut(endpoint: Endpoint, delivery: Delivery) {
  return {
    ...endpointOut(endpoint),
    status: delivery.status,
    statusText: statusTexts[delivery.status],
    nextAttempt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
  };
}

export function pageOut<T, U>(page: Page<T>, map: (item: T) => U) {
  return { data: page.data.map(map), iterator: page.iterator, prevIterator: page.prevIterator, done: page.done };
}

/** Response schemas, used only to describe responses in the OpenAPI document. */
const date = z.string().describe('RFC 3339 date-time');
export const applicationOutSchema = z.object({
  id: z.string(),
  uid: z.string().nullable(),
  name: z.string(),
  throttleRate: z.number().int().nullable(),
  rateLimit: z.number().int().nullable().describe('Same as throttleRate, for the svix client libraries'),
  metadata: z.record(z.string(), z.string()),
  createdAt: date,
  updatedAt: date,
});
export const eventTypeOutSchema = z.object({
  name: z.string(),
  description: z.string(),
  schemas: z.record(z.string(), z.unknown()).nullable(),
  archived: z.boolean(),
  deprecated: z.boolean(),
  featureFlag: z.string().nullable(),
  createdAt: date,
  updatedAt: date,
});
export const endpointOutSchema = z.object({
  id: z.string(),
  uid: z.string().nullable(),
  url: z.string(),
  description: z.string(),
  disabled: z.boolean(),
  throttleRate: z.number().int().nullable(),
  rateLimit: z.number().int().nullable().describe('Same as throttleRate, for the svix client libraries'),
  eventTypes: z.array(z.string()).nullable(),
  filterTypes: z.array(z.string()).nullable().describe('Same as eventTypes, for the svix client libraries'),
  channels: z.array(z.string()).nullable(),
  metadata: z.record(z.string(), z.string()),
  version: z.number().int(),
  createdAt: date,
  updatedAt: date,
});
export const messageOutSchema = z.object({
  id: z.string(),
  eventType: z.string(),
  eventId: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  channels: z.array(z.string()).nullable(),
  tags: z.array(z.string()).nullable(),
  timestamp: date,
});
const deliveryState = {
  status: z.number().int().describe('0 success, 1 pending, 2 fail, 3 sending'),
  statusText: z.enum(['success', 'pending', 'fail', 'sending']),
  nextAttempt: date.nullable(),
};
export const attemptOutSchema = z.object({
  id: z.string(),
  msgId: z.string(),
  endpointId: z.string(),
  url: z.string(),
  status: z.number().int(),
  statusText: z.enum(['success', 'pending', 'fail', 'sending']),
  response: z.string(),
  responseStatusCode: z.number().int(),
  responseDurationMs: z.number().int(),
  triggerType: z.number().int().describe('0 scheduled, 1 manual'),
  timestamp: date,
});
export const eventsOutSchema = z.object({
  data: z.array(messageOutSchema),
  iterator: z.string().describe('Position to pass as the iterator of the next request'),
  done: z.boolean().describe('True when no more messages were available when the request was read'),
});
export const endpointMessageOutSchema = messageOutSchema.extend(deliveryState);
export const messageEndpointOutSchema = endpointOutSchema.extend(deliveryState);
export const listOf = (item: z.ZodType) =>
  z.object({ data: z.array(item), iterator: z.string().nullable(), prevIterator: z.string().nullable(), done: z.boolean() });
