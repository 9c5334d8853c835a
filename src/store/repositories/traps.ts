import type { Kysely, Selectable } from 'kysely';
import type { Database, TrapTable } from '../schema.js';

export interface Trap {
  id: string;
  accountId: string;
  status: 'set' | 'diffused';
  createdAt: number;
  updatedAt: number;
}

function toTrap(row: Selectable<TrapTable>): Trap {
  return {
    id: row.id,
    accountId: row.account_id,
    status: row.status === 'diffused' ? 'diffused' : 'set',
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export class TrapRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(trap: Trap, db: Kysely<Database> = this.db): Promise<void> {
    await db
      .insertInto('trap')
      .values({ id: trap.id, account_id: trap.accountId, status: trap.status, created_at: trap.createdAt, updated_at: trap.updatedAt })
      .execute();
  }

  async find(id: string): Promise<Trap | undefined> {
    const row = await this.db.selectFrom('trap').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toTrap(row) : undefined;
  }

  /**
   * Marks a trap that is set as diffused. Returns false when the trap is missing or already
   * diffused, so of two concurrent calls only one returns true.
   */
  async markDiffused(id: string, now: number, db: Kysely<Database> = this.db): Promise<boolean> {
    const result = await db
      .updateTable('trap')
      .set({ status: 'diffused', updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'set')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async list(accountId?: string): Promise<Trap[]> {
    let query = this.db.selectFrom('trap').selectAll();
    if (accountId !== undefined) {
      query = query.where('account_id', '=', accountId);
    }
    const rows = await query.orderBy('id').execute();
    return rows.map(toTrap);
  }
}
