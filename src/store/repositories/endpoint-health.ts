import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Failure streak and automatic disabling of one endpoint. Times are milliseconds since the epoch. */
export interface EndpointHealth {
  endpointId: string;
  failingSince: number | null;
  disabledAt: number | null;
  disabledReason: string | null;
}

function toNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export class EndpointHealthRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(endpointId: string): Promise<EndpointHealth | undefined> {
    const row = await this.db.selectFrom('endpoint_health').selectAll().where('endpoint_id', '=', endpointId).executeTakeFirst();
    if (!row) {
      return undefined;
    }
    return {
      endpointId: row.endpoint_id,
      failingSince: toNumber(row.failing_since),
      disabledAt: toNumber(row.disabled_at),
      disabledReason: row.disabled_reason,
    };
  }

  /**
   * Records a failure at `failedAt` and returns since when the endpoint has been failing:
   * the start of the streak already recorded, or `failedAt` when none is (a success ends a
   * streak, see recordSuccess).
   */
  async recordFailure(endpointId: string, failedAt: number): Promise<number> {
    await this.db
      .insertInto('endpoint_health')
      .values({ endpoint_id: endpointId, failing_since: failedAt, disabled_at: null, disabled_reason: null })
      .onConflict((conflict) =>
        conflict.column('endpoint_id').doUpdateSet((eb) => ({
          failing_since: eb.fn.coalesce('endpoint_health.failing_since', eb.val(failedAt)),
        })),
      )
      .execute();
    const health = await this.find(endpointId);
    return health?.failingSince ?? failedAt;
  }

  /** Ends the failure streak after a success. */
  async recordSuccess(endpointId: string): Promise<void> {
    await this.db
      .updateTable('endpoint_health')
      .set({ failing_since: null })
      .where('endpoint_id', '=', endpointId)
      .where('failing_since', 'is not', null)
      .execute();
  }

  /**
   * Disables an endpoint that is still enabled and records why. Returns false when it was
   * already disabled, so only one worker reports the change.
   */
  async disable(endpointId: string, now: number, reason: 'gone' | 'failing'): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const result = await transaction
        .updateTable('endpoint')
        .set({ disabled: 1, updated_at: now })
        .where('id', '=', endpointId)
        .where('disabled', '=', 0)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) {
        return false;
      }
      await transaction
        .insertInto('endpoint_health')
        .values({ endpoint_id: endpointId, failing_since: null, disabled_at: now, disabled_reason: reason })
        .onConflict((conflict) => conflict.column('endpoint_id').doUpdateSet({ disabled_at: now, disabled_reason: reason }))
        .execute();
      return true;
    });
  }

  /** Forgets an endpoint's health, when the endpoint is deleted or enabled again by hand. */
  async clear(endpointId: string): Promise<void> {
    await this.db.deleteFrom('endpoint_health').where('endpoint_id', '=', endpointId).execute();
  }
}
