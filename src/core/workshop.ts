import { createId } from '../store/ids.js';
import type { Trap } from '../store/repositories/traps.js';
import type { Endpoint, Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ApplicationService } from './applications.js';
import type { Clock } from './clock.js';
import type { EndpointService } from './endpoints.js';
import type { EventTypeInput } from './event-types.js';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from './errors.js';
import type { MessageService } from './messages.js';
import { validateEndpointUrl } from './endpoint-url.js';

/** Event ids of the workshop API and the event types they stand for. */
export const workshopEventTypes: Record<number, string> = {
  1: 'trap.set',
  2: 'trap.diffuse',
};

/** Event types seeded at start-up so the catalog always lists the workshop's events. */
export const workshopCatalog: EventTypeInput[] = [
  {
    name: 'trap.set',
    description: 'A trap was set for an account.',
    schemas: {
      '1': {
        type: 'object',
        required: ['type', 'timestamp', 'data'],
        properties: {
          type: { const: 'trap.set' },
          timestamp: { type: 'string', format: 'date-time' },
          data: {
            type: 'object',
            required: ['trapId', 'accountId'],
            properties: { trapId: { type: 'string' }, accountId: { type: 'string' } },
          },
        },
      },
    },
  },
  {
    name: 'trap.diffuse',
    description: 'A trap that was set has been diffused.',
    schemas: {
      '1': {
        type: 'object',
        required: ['type', 'timestamp', 'data'],
        properties: {
          type: { const: 'trap.diffuse' },
          timestamp: { type: 'string', format: 'date-time' },
          data: {
            type: 'object',
            required: ['trapId', 'accountId'],
            properties: { trapId: { type: 'string' }, accountId: { type: 'string' } },
          },
        },
      },
    },
  },
];

/** A workshop subscription: an endpoint seen through the original demo's names. */
export interface Subscription {
  id: string;
  accountId: string;
  eventId: number;
  eventType: string;
  endpoint: string;
  createdAt: number;
}

/**
 * The original trap demo's model on top of Hookline's: an account is an application with
 * that uid, a subscription is an endpoint subscribed to one event type, and setting or
 * diffusing a trap sends a message `{type, timestamp, data}`.
 */
export class WorkshopService {
  constructor(
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly endpoints: EndpointService,
    private readonly messages: MessageService,
    private readonly clock: Clock,
  ) {}

  listTraps(accountId?: string): Promise<Trap[]> {
    return this.store.traps.list(accountId);
  }

  /** Sets a trap for an account and sends `trap.set`. */
  async setTrap(accountId: string): Promise<{ trap: Trap; message: Message }> {
    const now = this.clock();
    const trap: Trap = { id: createId('trap', now), accountId, status: 'set', createdAt: now, updatedAt: now };
    await this.store.traps.insert(trap);
    const message = await this.emit(accountId, 'trap.set', trap, now);
    return { trap, message };
  }

  /**
   * Diffuses a trap that is set and sends `trap.diffuse`. Throws BadRequestError (400, as
   * the original demo returned) when no such trap exists, and ConflictError when the trap
   * is already diffused, also when another request diffused it at the same moment.
   */
  async diffuseTrap(trapId: string): Promise<{ trap: Trap; message: Message }> {
    const trap = await this.store.traps.find(trapId);
    if (!trap) {
      throw new BadRequestError(`Trap "${trapId}" not found. GET /api/trap lists the traps.`);
    }
    const now = this.clock();
    const changed = trap.status === 'set' && (await this.store.traps.markDiffused(trap.id, now));
    if (!changed) {
      throw new ConflictError(`Trap "${trapId}" is already diffused.`);
    }

    const diffused: Trap = { ...trap, status: 'diffused', updatedAt: now };
    const message = await this.emit(trap.accountId, 'trap.diffuse', diffused, now);
    return { trap: diffused, message };
  }

  async listSubscriptions(accountId?: string): Promise<Subscription[]> {
    const applications = [];
    if (accountId !== undefined) {
      const application = await this.applications.find(accountId);
      if (!application) {
        return [];
      }
      applications.push(application);
    } else {
      let iterator: string | undefined;
      for (;;) {
        const page = await this.applications.list({ limit: 250, iterator, order: 'ascending' });
        applications.push(...page.data);
        if (page.done) {
          break;
        }
        iterator = page.iterator ?? undefined;
      }
    }

    const subscriptions: Subscription[] = [];
    for (const application of applications) {
      const endpoints = await this.store.endpoints.listEnabled(application.id);
      for (const endpoint of endpoints) {
        const subscription = toSubscription(endpoint, application.uid ?? application.id);
        if (subscription) {
          subscriptions.push(subscription);
        }
      }
    }
    return subscriptions;
  }

  /** Subscribes a URL of an account to one event; creates the account's application when missing. */
  async addSubscription(accountId: string, eventId: number, url: string): Promise<{ subscription: Subscription; secret: string }> {
    const eventType = workshopEventTypes[eventId];
    if (!eventType) {
      throw ValidationError.field(['body', 'eventId'], `Unknown eventId ${eventId}; use 1 (trap.set) or 2 (trap.diffuse).`);
    }
    validateEndpointUrl(url, ['body', 'endpoint']);
    const { application } = await this.applications.create({ name: accountId, uid: accountId }, true);
    const endpoint = await this.endpoints.create(application.id, {
      url,
      description: `Workshop subscription to ${eventType}`,
      eventTypes: [eventType],
    });
    const secret = await this.endpoints.getSecret(application.id, endpoint.id);
    const subscription = toSubscription(endpoint, accountId);
    if (!subscription) {
      throw new Error(`Endpoint ${endpoint.id} was created without its event type`);
    }
    return { subscription, secret };
  }

  /** Removes a subscription, that is, deletes its endpoint. */
  async removeSubscription(subscriptionId: string): Promise<void> {
    const endpoint = await this.store.endpoints.findById(subscriptionId);
    if (!endpoint) {
      throw new NotFoundError('Subscription', subscriptionId);
    }
    await this.store.endpoints.delete(endpoint.id);
  }

  private emit(accountId: string, eventType: string, trap: Trap, now: number): Promise<Message> {
    return this.messages.create(accountId, {
      eventType,
      payload: {
        type: eventType,
        timestamp: new Date(now).toISOString(),
        data: { trapId: trap.id, accountId: trap.accountId, status: trap.status },
      },
      application: { name: accountId, uid: accountId },
    });
  }
}

function toSubscription(endpoint: Endpoint, accountId: string): Subscription | undefined {
  const eventType = endpoint.eventTypes?.length === 1 ? endpoint.eventTypes[0] : undefined;
  const entry = Object.entries(workshopEventTypes).find(([, name]) => name === eventType);
  if (!entry || eventType === undefined) {
    return undefined;
  }
  return {
    id: endpoint.id,
    accountId,
    eventId: Number(entry[0]),
    eventType,
    endpoint: endpoint.url,
    createdAt: endpoint.createdAt,
  };
}
