import type { MessageNotifier } from '../cache/message-notifier.js';
import { currentTraceCarrier, withSpan } from '../observability/tracing.js';
import type { Queue } from '../queue/contract.js';
import type { FanOutJob } from '../queue/jobs.js';
import { createId } from '../store/ids.js';
import type { MessagePageRequest } from '../store/repositories/messages.js';
import type { Page } from '../store/pagination.js';
import type { Application, Message } from '../store/records.js';
import type { Store } from '../store/store.js';
import { isUniqueViolation, type ApplicationInput, type ApplicationService } from './applications.js';
import type { Clock } from './clock.js';
import { ConflictError, NotFoundError } from './errors.js';
import { planDeliveries, writeDeliveries } from './fan-out.js';

export interface MessageInput {
  eventType: string;
  payload: unknown;
  eventId?: string | null | undefined;
  channels?: string[] | null | undefined;
  tags?: string[] | null | undefined;
  /** Days to keep the payload, shortening HOOKLINE_RETENTION_DAYS for this message. */
  payloadRetentionPeriod?: number | null | undefined;
  /** Creates the application when the one named in the path does not exist. */
  application?: ApplicationInput | null | undefined;
}

const dayMs = 86_400_000;

/**
 * Maximum number of subscribed endpoints for which a message's deliveries are written with
 * the message itself. A message for more goes through the `events` queue, so that one large fan-out does
 * not hold up the transaction that other accepted messages share.
 */
export const inlineFanOutLimit = 50;

/** Adds the active trace context to job data while tracing is on. */
function withTrace<T extends object>(data: T): T & { trace?: Record<string, string> } {
  const trace = currentTraceCarrier();
  return trace === undefined ? data : { ...data, trace };
}

export class MessageService {
  constructor(
    private readonly store: Store,
    private readonly queue: Queue,
    private readonly applications: ApplicationService,
    private readonly clock: Clock,
    /** Wakes the pull API and event stream readers of the application; none in worker-only processes. */
    private readonly notifier?: MessageNotifier,
    /** Called with each message once it is stored, such as to count it in the metrics. */
    private readonly onAccepted?: (message: Message) => void,
  ) {}

  /**
   * Stores a message and its fan-out job in one transaction, shared with the other messages
   * accepted in the same turn of the event loop. When this returns, that transaction has
   * committed, so the message is durable and will reach every subscribed endpoint.
   */
  async create(appIdOrUid: string, input: MessageInput): Promise<Message> {
    const application = await this.resolveApplication(appIdOrUid, input.application);
    if (input.eventId) {
      const duplicate = await this.store.messages.findByEventId(application.id, input.eventId);
      if (duplicate) {
        throw new ConflictError(`A message with eventId "${input.eventId}" already exists: ${duplicate.id}.`);
      }
    }

    const now = this.clock();
    const message: Message = {
      id: createId('msg', now),
      appId: application.id,
      eventType: input.eventType,
      eventId: input.eventId ?? null,
      payload: Buffer.from(JSON.stringify(input.payload), 'utf8'),
      channels: input.channels && input.channels.length > 0 ? input.channels : null,
      tags: input.tags && input.tags.length > 0 ? input.tags : null,
      createdAt: now,
      payloadExpiresAt: input.payloadRetentionPeriod ? now + input.payloadRetentionPeriod * dayMs : null,
    };

    // Fan-out at acceptance: the deliveries and their jobs are written in the message's own
    // transaction, which saves the `events` queue's job, its claim and a second transaction.
    // An endpoint created while this runs may miss the message, as with the fan-out queue.
    const endpoints = await this.store.endpoints.listEnabled(application.id);
    const { deliveries, records } = planDeliveries(message, endpoints, now);
    const inline = deliveries.length <= inlineFanOutLimit;

    // Units of a group commit run outside their caller's trace context, so the job data takes
    // its trace here.
    const write = async (): Promise<void> => {
      const fanOutJob = inline ? undefined : { id: message.id, data: withTrace({ msgId: message.id }) };
      const trace = currentTraceCarrier();
      await this.store.groupCommit.run(async (transaction) => {
        await this.store.messages.insert(message, transaction, inline);
        if (fanOutJob !== undefined) {
          await this.queue.addInTransaction<FanOutJob>(transaction, 'events', [fanOutJob]);
          return;
        }
        await writeDeliveries(this.store, this.queue, transaction, deliveries, now, trace, records);
      });
    };
    try {
      await (inline ? withSpan('fan-out', { 'hookline.msg_id': message.id }, write) : write());
    } catch (error) {
      if (input.eventId && isUniqueViolation(error)) {
        throw new ConflictError(`A message with eventId "${input.eventId}" already exists.`);
      }
      throw error;
    }
    if (!inline) {
      this.queue.notify('events');
    } else if (deliveries.length > 0) {
      this.queue.notify('webhooks');
    }
    this.notifier?.publish(message.appId);
    this.onAccepted?.(message);
    return message;
  }

  async get(appIdOrUid: string, msgId: string): Promise<Message> {
    const application = await this.applications.get(appIdOrUid);
    const message = await this.findInApplication(application.id, msgId);
    if (!message) {
      throw new NotFoundError('Message', msgId);
    }
    return message;
  }

  async list(appIdOrUid: string, request: MessagePageRequest): Promise<Page<Message>> {
    const application = await this.applications.get(appIdOrUid);
    return this.store.messages.list(application.id, request);
  }

  /** Finds a message by id or by its eventId, as the Svix API allows. */
  private async findInApplication(appId: string, msgIdOrEventId: string): Promise<Message | undefined> {
    const byId = await this.store.messages.find(appId, msgIdOrEventId);
    return byId ?? (await this.store.messages.findByEventId(appId, msgIdOrEventId));
  }

  private async resolveApplication(appIdOrUid: string, create: ApplicationInput | null | undefined): Promise<Application> {
    const existing = await this.applications.find(appIdOrUid);
    if (existing) {
      return existing;
    }
    if (!create) {
      throw new NotFoundError('Application', appIdOrUid);
    }
    const { application } = await this.applications.create({ ...create, uid: create.uid ?? appIdOrUid }, true);
    return application;
  }
}
