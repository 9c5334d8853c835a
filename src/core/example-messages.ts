import type { Queue } from '../queue/contract.js';
import type { DeliveryJob } from '../queue/jobs.js';
import { createId } from '../store/ids.js';
import type { Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import type { EndpointService } from './endpoints.js';
import type { EventTypeService } from './event-types.js';
import { newDelivery } from './fan-out.js';

/** Deepest level of nested objects that a generated placeholder fills in. */
const maxPlaceholderDepth = 6;

type JsonSchema = Record<string, unknown>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schema of the newest version: event type schemas are keyed by version ("1", "2", …). */
export function newestSchema(schemas: Record<string, unknown> | null): JsonSchema | undefined {
  if (!schemas) {
    return undefined;
  }
  const versions = Object.keys(schemas).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const newest = versions[versions.length - 1];
  const schema = newest === undefined ? undefined : schemas[newest];
  return isObject(schema) ? schema : undefined;
}

/** Builds a value that matches a JSON Schema's declared type, for a placeholder payload. */
function placeholderValue(schema: unknown, name: string, depth: number): unknown {
  if (!isObject(schema)) {
    return `example ${name}`;
  }
  if (Array.isArray(schema.examples) && schema.examples.length > 0) {
    return schema.examples[0];
  }
  if ('const' in schema) {
    return schema.const;
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[0];
  }
  if ('default' in schema) {
    return schema.default;
  }
  const type = Array.isArray(schema.type) ? schema.type.find((entry) => entry !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return placeholderObject(schema, depth + 1);
    case 'array':
      return depth >= maxPlaceholderDepth ? [] : [placeholderValue(schema.items, name, depth + 1)];
    case 'integer':
      return 1;
    case 'number':
      return 1.5;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      if (schema.format === 'date-time') {
        return '2026-01-01T00:00:00.000Z';
      }
      return `example ${name}`;
  }
}

function placeholderObject(schema: JsonSchema, depth: number): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (depth > maxPlaceholderDepth || !isObject(schema.properties)) {
    return result;
  }
  for (const [property, propertySchema] of Object.entries(schema.properties)) {
    result[property] = placeholderValue(propertySchema, property, depth);
  }
  return result;
}

/** Tells whether the newest schema lists an object among its `examples`. */
export function hasObjectExample(schemas: Record<string, unknown> | null): boolean {
  const examples = newestSchema(schemas)?.examples;
  return Array.isArray(examples) && examples.some(isObject);
}

/**
 * Chooses the payload of a test event: the first of the schema's `examples` that is a
 * JSON object, or else an object built from the schema's properties, or else a small
 * object that names the event type.
 */
export function examplePayload(eventType: string, schemas: Record<string, unknown> | null): Record<string, unknown> {
  const schema = newestSchema(schemas);
  if (schema) {
    const examples = Array.isArray(schema.examples) ? schema.examples : [];
    const example = examples.find(isObject);
    if (example) {
      return example;
    }
    const generated = placeholderObject(schema, 0);
    if (Object.keys(generated).length > 0) {
      return generated;
    }
  }
  return { type: eventType, example: true };
}

/** Sends a test event of a chosen event type to one endpoint, and to no other. */
export class ExampleMessageService {
  constructor(
    private readonly store: Store,
    private readonly queue: Queue,
    private readonly endpoints: EndpointService,
    private readonly eventTypes: EventTypeService,
    private readonly clock: Clock,
  ) {}

  /**
   * Stores a message with the event type's example payload and one delivery to the
   * endpoint, in one transaction. The message is marked as fanned out, so that the
   * recovery sweep never sends it to the application's other endpoints.
   */
  async send(appIdOrUid: string, endpointIdOrUid: string, eventTypeName: string): Promise<Message> {
    const endpoint = await this.endpoints.get(appIdOrUid, endpointIdOrUid);
    const eventType = await this.eventTypes.get(eventTypeName);

    const now = this.clock();
    const message: Message = {
      id: createId('msg', now),
      appId: endpoint.appId,
      eventType: eventType.name,
      eventId: null,
      payload: Buffer.from(JSON.stringify(examplePayload(eventType.name, eventType.schemas)), 'utf8'),
      channels: null,
      tags: null,
      createdAt: now,
    };
    const delivery = newDelivery(message, endpoint.id, now);

    await this.store.db.transaction().execute(async (transaction) => {
      await this.store.messages.insert(message, transaction);
      await this.store.messages.markFannedOut(message.id, transaction);
      await this.store.deliveries.insertMissing([delivery], transaction);
      await this.queue.addInTransaction<DeliveryJob>(transaction, 'webhooks', [
        { id: delivery.id, data: { deliveryId: delivery.id, trigger: 0 }, runAt: now },
      ]);
    });
    this.queue.notify('webhooks');
    return message;
  }
}
