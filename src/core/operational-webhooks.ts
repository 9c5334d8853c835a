import type { Logger } from '../observability/logger.js';
import type { Page, PageRequest } from '../store/pagination.js';
import type { Application, Endpoint } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ApplicationService } from './applications.js';
import type { Clock } from './clock.js';
import type { EndpointInput, EndpointPatch, EndpointService } from './endpoints.js';
import type { MessageService } from './messages.js';

/**
 * Uid of the application that Hookline creates to carry operational webhooks. Its
 * endpoints are the operator's operational webhook endpoints, so operational webhooks
 * are signed, retried and logged like every other message.
 */
export const OPERATIONAL_APPLICATION_UID = 'hookline-operational-webhooks';

/** Operational webhook types and the data each carries, as in Svix. */
export type OperationalEvent =
  | 'endpoint.disabled'
  | 'message.attempt.exhausted'
  | 'message.attempt.failing'
  | 'message.attempt.recovered';

/**
 * Operational webhooks: the operator's endpoints for events about Hookline itself, and
 * the sending of those events through the ordinary delivery pipeline.
 */
export class OperationalWebhookService {
  constructor(
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly endpoints: EndpointService,
    private readonly messages: MessageService,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Returns whether `appId` is the application that carries operational webhooks. */
  async isOperationalApplication(appId: string): Promise<boolean> {
    const application = await this.store.applications.findByUid(OPERATIONAL_APPLICATION_UID);
    return application?.id === appId;
  }

  /**
   * Stores an operational webhook `{type, timestamp, data}` as a message of the
   * operational application. Nothing is stored while the operator has no operational
   * endpoint that is enabled.
   */
  async send(type: OperationalEvent, data: object): Promise<void> {
    const application = await this.store.applications.findByUid(OPERATIONAL_APPLICATION_UID);
    if (!application) {
      return;
    }
    const enabled = await this.store.endpoints.listEnabled(application.id);
    if (enabled.length === 0) {
      return;
    }

    const payload = { type, timestamp: new Date(this.clock()).toISOString(), data };
    const message = await this.messages.create(application.id, { eventType: type, payload });
    this.logger.info({ type, msgId: message.id }, 'Operational webhook queued');
  }

  async list(page: PageRequest): Promise<Page<Endpoint>> {
    const application = await this.application();
    return this.endpoints.list(application.id, page);
  }

  async create(input: EndpointInput): Promise<Endpoint> {
    const application = await this.application();
    return this.endpoints.create(application.id, input);
  }

  async get(endpointIdOrUid: string): Promise<Endpoint> {
    const application = await this.application();
    return this.endpoints.get(application.id, endpointIdOrUid);
  }

  async update(endpointIdOrUid: string, input: EndpointInput): Promise<Endpoint> {
    const application = await this.application();
    return this.endpoints.update(application.id, endpointIdOrUid, input);
  }

  async patch(endpointIdOrUid: string, patch: EndpointPatch): Promise<Endpoint> {
    const application = await this.application();
    return this.endpoints.patch(application.id, endpointIdOrUid, patch);
  }

  async delete(endpointIdOrUid: string): Promise<void> {
    const application = await this.application();
    await this.endpoints.delete(application.id, endpointIdOrUid);
  }

  async getSecret(endpointIdOrUid: string): Promise<string> {
    const application = await this.application();
    return this.endpoints.getSecret(application.id, endpointIdOrUid);
  }

  async rotateSecret(endpointIdOrUid: string, key: string | null): Promise<void> {
    const application = await this.application();
    await this.endpoints.rotateSecret(application.id, endpointIdOrUid, key);
  }

  async getHeaders(endpointIdOrUid: string): Promise<Record<string, string>> {
    const application = await this.application();
    return this.endpoints.getHeaders(application.id, endpointIdOrUid);
  }

  async setHeaders(endpointIdOrUid: string, headers: Record<string, string>): Promise<void> {
    const application = await this.application();
    await this.endpoints.setHeaders(application.id, endpointIdOrUid, headers);
  }

  /** Finds the operational application, creating it on first use. */
  private async application(): Promise<Application> {
    const { application } = await this.applications.create(
      { name: 'Hookline operational webhooks', uid: OPERATIONAL_APPLICATION_UID },
      true,
    );
    return application;
  }
}
