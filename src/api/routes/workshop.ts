import { z } from 'zod';
import type { Subscription } from '../../core/workshop.js';
import type { RouteTable } from '../route-table.js';
import { uid } from '../schemas.js';
import type { ApiServices } from '../services.js';

const iso = (milliseconds: number) => new Date(milliseconds).toISOString();

function subscriptionOut(subscription: Subscription) {
  return {
    id: subscription.id,
    accountId: subscription.accountId,
    eventId: subscription.eventId,
    eventType: subscription.eventType,
    endpoint: subscription.endpoint,
    createdAt: iso(subscription.createdAt),
  };
}

const eventId = z.union([
  z.number().int(),
  z.string().regex(/^\d+$/, 'must be 1 (trap.set) or 2 (trap.diffuse)').transform(Number),
  z.enum(['trap.set', 'trap.diffuse']).transform((name) => (name === 'trap.set' ? 1 : 2)),
], {
  error: 'must be 1 (trap.set) or 2 (trap.diffuse)',
});

/** Registers the routes of the original trap demo, kept as they were: the demo producer and its subscriptions. */
export function registerWorkshopRoutes(table: RouteTable, services: ApiServices): void {
  const tag = 'Workshop';

  table.define({
    method: 'GET',
    url: '/api/trap',
    operationId: 'workshop.trap.list',
    summary: 'List traps, optionally of one account',
    tag,
    access: 'admin',
    query: z.object({ accountId: uid.optional() }),
    status: 200,
    handler: async ({ query }) => {
      const traps = await services.workshop.listTraps(query.accountId);
      return traps.map((trap) => ({ ...trap, createdAt: iso(trap.createdAt), updatedAt: iso(trap.updatedAt) }));
    },
  });

  table.define({
    method: 'POST',
    url: '/api/trap/set',
    operationId: 'workshop.trap.set',
    summary: 'Set a trap for an account; sends trap.set to its subscriptions',
    tag,
    access: 'admin',
    query: z.object({ accountId: uid }),
    status: 200,
    handler: async ({ query }) => {
      const { trap, message } = await services.workshop.setTrap(query.accountId);
      return { ...trap, createdAt: iso(trap.createdAt), updatedAt: iso(trap.updatedAt), msgId: message.id };
    },
  });

  table.define({
    method: 'POST',
    url: '/api/trap/diffuse',
    operationId: 'workshop.trap.diffuse',
    summary: 'Diffuse a trap; sends trap.diffuse to the subscriptions of its account',
    tag,
    access: 'admin',
    query: z.object({ id: uid }),
    status: 200,
    handler: async ({ query }) => {
      const { trap, message } = await services.workshop.diffuseTrap(query.id);
      return { ...trap, createdAt: iso(trap.createdAt), updatedAt: iso(trap.updatedAt), msgId: message.id };
    },
  });

  table.define({
    method: 'GET',
    url: '/api/event_subscriptions',
    operationId: 'workshop.subscription.list',
    summary: 'List subscriptions, optionally of one account',
    tag,
    access: 'admin',
    query: z.object({ accountId: uid.optional() }),
    status: 200,
    handler: async ({ query }) => (await services.workshop.listSubscriptions(query.accountId)).map(subscriptionOut),
  });

  table.define({
    method: 'POST',
    url: '/api/event_subscriptions/add',
    operationId: 'workshop.subscription.add',
    summary: 'Subscribe an endpoint URL of an account to event 1 (trap.set) or 2 (trap.diffuse)',
    tag,
    access: 'admin',
    body: z.object({ accountId: uid, eventId, endpoint: z.string().min(1).max(65536) }),
    status: 201,
    idempotent: true,
    handler: async ({ body }) => {
      const { subscription, secret } = await services.workshop.addSubscription(body.accountId, body.eventId, body.endpoint);
      return { ...subscriptionOut(subscription), subscriptionId: subscription.id, secret };
    },
  });

  table.define({
    method: 'POST',
    url: '/api/event_subscriptions/remove',
    operationId: 'workshop.subscription.remove',
    summary: 'Remove a subscription',
    tag,
    access: 'admin',
    query: z.object({ subscriptionId: uid }),
    status: 200,
    handler: async ({ query }) => {
      await services.workshop.removeSubscription(query.subscriptionId);
      return { id: query.subscriptionId, removed: true };
    },
  });
}
