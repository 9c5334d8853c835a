import type { AttemptPageRequest } from '../store/repositories/attempts.js';
import type { DeliveryCounts } from '../store/repositories/deliveries.js';
import { channelPattern, type MessageFilter } from '../store/repositories/messages.js';
import { toPage, type Page } from '../store/pagination.js';
import type { Attempt, Delivery, Endpoint, Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ApplicationService } from './applications.js';
import type { EndpointService } from './endpoints.js';
import { NotFoundError } from './errors.js';
import type { MessageService } from './messages.js';

/** Read side of deliveries: attempts, attempted messages, destinations and counts. */
export class AttemptQueryService {
  constructor(
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly endpoints: EndpointService,
    private readonly messages: MessageService,
  ) {}

  async listByEndpoint(appIdOrUid: string, endpointIdOrUid: string, request: AttemptPageRequest): Promise<Page<Attempt>> {
    const endpoint = await this.endpoints.get(appIdOrUid, endpointIdOrUid);
    return this.store.attempts.list(endpoint.appId, { ...request, endpointId: endpoint.id });
  }

  async listByMessage(appIdOrUid: string, msgId: string, request: AttemptPageRequest): Promise<Page<Attempt>> {
    const message = await this.messages.get(appIdOrUid, msgId);
    let endpointId: string | undefined;
    if (request.endpointId !== undefined) {
      endpointId = (await this.endpoints.get(appIdOrUid, request.endpointId)).id;
    }
    return this.store.attempts.list(message.appId, { ...request, msgId: message.id, endpointId });
  }

  async get(appIdOrUid: string, msgId: string, attemptId: string): Promise<Attempt> {
    const message = await this.messages.get(appIdOrUid, msgId);
    const attempt = await this.store.attempts.find(message.appId, message.id, attemptId);
    if (!attempt) {
      throw new NotFoundError('Message attempt', attemptId);
    }
    return attempt;
  }

  /** Messages sent to an endpoint, each with its delivery's status, newest first. */
  async listAttemptedMessages(
    appIdOrUid: string,
    endpointIdOrUid: string,
    request: MessageFilter & { limit: number; iterator?: string | undefined; status?: number | undefined },
  ): Promise<Page<{ message: Message; delivery: Delivery }>> {
    const endpoint = await this.endpoints.get(appIdOrUid, endpointIdOrUid);
    let msgIds;
    if (request.channel !== undefined || (request.eventTypes && request.eventTypes.length > 0)) {
      msgIds = this.store.db.selectFrom('message').select('message.id').where('message.app_id', '=', endpoint.appId);
      if (request.channel !== undefined) {
        msgIds = msgIds.where('message.channels', 'like', channelPattern(request.channel));
      }
      if (request.eventTypes && request.eventTypes.length > 0) {
        msgIds = msgIds.where('message.event_type', 'in', request.eventTypes);
      }
    }
    const deliveries = await this.store.deliveries.listByEndpoint(endpoint.id, { ...request, msgIds });
    const items: { message: Message; delivery: Delivery }[] = [];
    for (const delivery of deliveries) {
      const message = await this.store.messages.findById(delivery.msgId);
      if (message) {
        items.push({ message, delivery });
      }
    }
    return toPage(items, request.limit, (item) => item.message.id, request.iterator);
  }

  /** Endpoints a message was sent to, each with its delivery's status. */
  async listDestinations(
    appIdOrUid: string,
    msgId: string,
    limit: number,
    iterator: string | undefined,
  ): Promise<Page<{ endpoint: Endpoint; delivery: Delivery }>> {
    const message = await this.messages.get(appIdOrUid, msgId);
    const deliveries = await this.store.deliveries.listByMessagePage(message.id, limit, iterator);
    const items: { endpoint: Endpoint; delivery: Delivery }[] = [];
    for (const delivery of deliveries) {
      const endpoint = await this.store.endpoints.findById(delivery.endpointId);
      if (endpoint) {
        items.push({ endpoint, delivery });
      }
    }
    return toPage(items, limit, (item) => item.endpoint.id, iterator);
  }

  /** Counts an endpoint's deliveries by status, as Svix's endpoint stats. */
  async endpointStats(appIdOrUid: string, endpointIdOrUid: string, since?: number, until?: number): Promise<DeliveryCounts> {
    const endpoint = await this.endpoints.get(appIdOrUid, endpointIdOrUid);
    await this.applications.get(appIdOrUid);
    return this.store.deliveries.countByStatus(endpoint.id, since, until);
  }
}
