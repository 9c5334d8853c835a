import type { Queue } from '../queue/contract.js';
import type { DeliveryJob } from '../queue/jobs.js';
import { DeliveryStatus, type Delivery } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import type { EndpointService } from './endpoints.js';
import { newDelivery } from './fan-out.js';
import { NotFoundError } from './errors.js';
import type { MessageService } from './messages.js';

/** Resend of one message and recovery of an endpoint's failed deliveries. */
export class RedeliveryService {
  constructor(
    private readonly store: Store,
    private readonly queue: Queue,
    private readonly messages: MessageService,
    private readonly endpoints: EndpointService,
    private readonly clock: Clock,
  ) {}

  /**
   * Sends a message to an endpoint again now, as a manual attempt, whatever its delivery's
   * status. The delivery starts a new round of the retry schedule if the attempt fails.
   */
  async resend(appIdOrUid: string, msgId: string, endpointIdOrUid: string): Promise<void> {
    const message = await this.messages.get(appIdOrUid, msgId);
    const endpoint = await this.endpoints.get(appIdOrUid, endpointIdOrUid);
    if (endpoint.appId !== message.appId) {
      throw new NotFoundError('Endpoint', endpointIdOrUid);
    }

    const now = this.clock();
    let delivery = await this.store.deliveries.find(message.id, endpoint.id);
    if (!delivery) {
      const created = newDelivery(message, endpoint.id, now);
      await this.store.db.transaction().execute(async (transaction) => {
        await this.store.deliveries.insertMissing([created], transaction);
      });
      delivery = await this.store.deliveries.find(message.id, endpoint.id);
    }
    if (!delivery) {
      throw new NotFoundError('Delivery');
    }
    await this.schedule([delivery], now);
  }

  /**
   * Brings back every failed delivery of an endpoint whose message came in since `since`
   * (and before `until`). Deliveries that succeeded are left alone, so none is duplicated.
   * Returns how many deliveries were scheduled.
   */
  async recover(appIdOrUid: string, endpointIdOrUid: string, since: number, until: number | undefined): Promise<number> {
    const endpoint = await this.endpoints.get(appIdOrUid, endpointIdOrUid);
    const failed = await this.store.deliveries.listFailedSince(endpoint.id, since, until);
    await this.schedule(failed, this.clock());
    return failed.length;
  }

  private async schedule(deliveries: Delivery[], now: number): Promise<void> {
    if (deliveries.length === 0) {
      return;
    }
    await this.store.db.transaction().execute(async (transaction) => {
      for (const delivery of deliveries) {
        await transaction
          .updateTable('delivery')
          .set({ status: DeliveryStatus.pending, attempt_count: 0, next_attempt_at: now, updated_at: now })
          .where('id', '=', delivery.id)
          .execute();
      }
      await this.queue.addInTransaction<DeliveryJob>(
        transaction,
        'webhooks',
        deliveries.map((delivery) => ({ id: delivery.id, data: { deliveryId: delivery.id, trigger: 1 }, runAt: now })),
      );
    });
    this.queue.notify('webhooks');
  }
}
