import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** Work that runs inside a store transaction and yields a result once it commits. */
export type TransactionWork<T> = (transaction: Transaction<Database>) => Promise<T>;

interface PendingWork {
  work: TransactionWork<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Callbacks of one group transaction: run after its commit, or after its rollback. */
interface TransactionHooks {
  committed: (() => void)[];
  rolledBack: (() => void)[];
}

const hooksByTransaction = new WeakMap<Transaction<Database>, TransactionHooks>();

/**
 * Calls `committed` once `transaction` has committed, or `rolledBack` once it has rolled
 * back, when the transaction belongs to a group commit. Returns false, and registers
 * nothing, for any other transaction. Callbacks must not throw.
 */
export function onTransactionEnd(transaction: Transaction<Database>, committed: () => void, rolledBack: () => void): boolean {
  const hooks = hooksByTransaction.get(transaction);
  if (hooks === undefined) {
    return false;
  }
  hooks.committed.push(committed);
  hooks.rolledBack.push(rolledBack);
  return true;
}

function runAll(callbacks: (() => void)[]): void {
  for (const callback of callbacks) {
    callback();
  }
}

/** Runs `work` in a new transaction of `db` whose end callbacks onTransactionEnd can register. */
async function hookedTransaction<T>(db: Kysely<Database>, work: (transaction: Transaction<Database>) => Promise<T>): Promise<T> {
  const hooks: TransactionHooks = { committed: [], rolledBack: [] };
  let result: T;
  try {
    result = await db.transaction().execute(async (transaction) => {
      hooksByTransaction.set(transaction, hooks);
      return work(transaction);
    });
  } catch (error) {
    runAll(hooks.rolledBack);
    throw error;
  }
  runAll(hooks.committed);
  return result;
}

/** Maximum units of work in one transaction, so that no transaction keeps the database locked for long. */
const defaultMaxBatch = 100;

/**
 * Group commit: runs the units of work submitted during one turn of the event loop in a
 * single transaction, one after another, and settles each caller's promise only after that
 * transaction has committed. A caller therefore learns of success exactly as with a
 * transaction of its own, while the database writes and commits once for the whole group.
 *
 * Each commit rewrites every page that the transaction touched, and in WAL mode that is
 * the largest cost of a small transaction, so a group of messages that share table and
 * index pages costs little more than one of them.
 *
 * If any unit fails, the group's transaction rolls back and every unit runs again in a
 * transaction of its own, so only the units that fail alone are rejected. Units must
 * therefore have no effect outside the transaction, which also makes running them twice safe.
 */
export class GroupCommitter {
  private pending: PendingWork[] = [];
  private flushScheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = defaultMaxBatch,
  ) {}

  /** Runs `work` in a transaction shared with the other work of this turn; resolves after the commit. */
  run<T>(work: TransactionWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) {
      return;
    }
    // setImmediate runs after the I/O callbacks of this turn, so requests read together
    // share a transaction, and a caller waits at most one turn for it to begin.
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      while (this.pending.length > 0) {
        void this.commit(this.pending.splice(0, this.maxBatch));
      }
    });
  }

  private async commit(group: PendingWork[]): Promise<void> {
    let results: unknown[];
    try {
      results = await hookedTransaction(this.db, async (transaction) => {
        const values: unknown[] = [];
        for (const unit of group) {
          values.push(await unit.work(transaction));
        }
        return values;
      });
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      await this.commitOneByOne(group);
      return;
    }
    group.forEach((unit, index) => unit.resolve(results[index]));
  }

  private async commitOneByOne(group: PendingWork[]): Promise<void> {
    for (const unit of group) {
      try {
        unit.resolve(await hookedTransaction(this.db, (transaction) => unit.work(transaction)));
      } catch (error) {
        unit.reject(error);
      }
    }
  }
}
