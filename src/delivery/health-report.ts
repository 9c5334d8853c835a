import type { Endpoint } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { BreakerPosition, CircuitBreaker } from './circuit-breaker.js';
import type { EndpointPacing } from './endpoint-pacing.js';

/** Health of one endpoint as the API returns it. Times are milliseconds since the epoch. */
export interface EndpointHealthReport {
  breaker: BreakerPosition;
  consecutiveFailures: number;
  openUntil: number | null;
  failingSince: number | null;
  disabled: boolean;
  throttledUntil: number | null;
}

/** An endpoint whose breaker is open or half-open. */
export interface OpenBreaker {
  appId: string;
  endpointId: string;
  url: string;
  openUntil: number | null;
  consecutiveFailures: number;
}

/** Reads the delivery health of endpoints for the API: breaker, failure streak, slow-down. */
export class DeliveryHealthReport {
  constructor(
    private readonly store: Store,
    private readonly breaker: CircuitBreaker,
    private readonly pacing: EndpointPacing,
  ) {}

  async endpoint(endpoint: Endpoint): Promise<EndpointHealthReport> {
    const [snapshot, health, slowedUntil] = await Promise.all([
      this.breaker.inspect(endpoint.id),
      this.store.endpointHealth.find(endpoint.id),
      this.pacing.slowedUntil(endpoint.id),
    ]);
    return {
      breaker: snapshot.breaker,
      consecutiveFailures: snapshot.consecutiveFailures,
      openUntil: snapshot.openUntil,
      failingSince: health?.failingSince ?? null,
      disabled: endpoint.disabled,
      throttledUntil: slowedUntil ?? null,
    };
  }

  /**
   * Lists endpoints whose breaker is open or half-open. A breaker opens only after
   * failures, which mark the endpoint as failing in the store, so only failing endpoints
   * are inspected.
   */
  async openBreakers(): Promise<OpenBreaker[]> {
    const failing = await this.store.db
      .selectFrom('endpoint_health')
      .innerJoin('endpoint', 'endpoint.id', 'endpoint_health.endpoint_id')
      .select(['endpoint.id', 'endpoint.app_id', 'endpoint.url'])
      .where('endpoint_health.failing_since', 'is not', null)
      .orderBy('endpoint.id')
      .execute();

    const open: OpenBreaker[] = [];
    for (const row of failing) {
      const snapshot = await this.breaker.inspect(row.id);
      if (snapshot.breaker !== 'closed') {
        open.push({
          appId: row.app_id,
          endpointId: row.id,
          url: row.url,
          openUntil: snapshot.openUntil,
          consecutiveFailures: snapshot.consecutiveFailures,
        });
      }
    }
    return open;
  }
}
