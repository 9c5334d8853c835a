import { PostgresAdapter, sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { QueueCounts } from './contract.js';
import { Precompiled } from '../store/precompiled.js';
import type { Database } from '../store/schema.js';

// The statements of the embedded queue driver on the `job` table. They are written in the
// SQL that SQLite and PostgreSQL share. Every statement that settles a claim matches the
// owner and the version it claimed, so a claim that was lost or replaced changes nothing.

/** Rows per statement when a batch is written. It keeps OR chains below SQLite's expression depth limit of 1000. */
const rowsPerStatement = 100;

export interface JobRow {
  id: string;
  /** JSON text of the job data. */
  data: string;
  runAt: number;
}

export interface ClaimedRow {
  id: string;
  data: string;
  runAt: number;
  attempts: number;
  version: number;
}

/** A claim to settle: the job id and the version that was claimed. */
export interface ClaimKey {
  id: string;
  version: number;
}

export interface ClaimScope {
  queue: string;
  /** The lease owner that made the claims. */
  owner: string;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    chunks.push(items.slice(start, start + size));
  }
  return chunks;
}

/**
 * A job is claimable once its visible time has come: its run time, or the end of the lease
 * that holds it. The lease check keeps a lease valid up to and including its last millisecond.
 */
function isClaimable(eb: ExpressionBuilder<Database, 'job'>, now: number) {
  return eb.and([eb('visible_at', '<=', now), eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)])]);
}

function matchesClaims(eb: ExpressionBuilder<Database, 'job'>, claims: readonly ClaimKey[]) {
  return eb.and([
    eb('id', 'in', claims.map((claim) => claim.id)),
    eb.or(claims.map((claim) => eb.and([eb('id', '=', claim.id), eb('version', '=', claim.version)]))),
  ]);
}

/**
 * Inserts jobs or replaces them by (queue, id). A replaced job gets the new data and run
 * time, a new version and no lease, so it can be claimed again at its new run time while
 * the old claim can no longer settle it. `rows` must not repeat an id, because PostgreSQL
 * rejects an upsert that touches one row twice.
 */
export async function upsertJobs(
  db: Kysely<Database>,
  queue: string,
  rows: readonly JobRow[],
  now: number,
  existing: 'replace' | 'keep' = 'replace',
): Promise<number> {
  let written = 0;
  const [only] = rows;
  if (rows.length === 1 && only !== undefined && existing === 'replace') {
    const result = await upsertOneStatement.execute(db, queue, only.id, only.data, only.runAt, now);
    return Number(result.numAffectedRows ?? 0n);
  }
  for (const batch of chunk(rows, rowsPerStatement)) {
    const result = await db
      .insertInto('job')
      .values(
        batch.map((row) => ({
          queue,
          id: row.id,
          data: row.data,
          run_at: row.runAt,
          visible_at: row.runAt,
          attempts: 0,
          lease_owner: null,
          lease_until: null,
          created_at: now,
        })),
      )
      .onConflict((conflict) =>
        existing === 'keep'
          ? conflict.columns(['queue', 'id']).doNothing()
          : conflict.columns(['queue', 'id']).doUpdateSet((eb) => ({
          data: eb.ref('excluded.data'),
          run_at: eb.ref('excluded.run_at'),
          visible_at: eb.ref('excluded.run_at'),
          version: eb('job.version', '+', 1),
          lease_owner: null,
          lease_until: null,
        })),
      )
      .executeTakeFirst();
    written += Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
  return written;
}

/** The upsert of upsertJobs for one job that replaces an existing one, compiled once per dialect. */
const upsertOneStatement = new Precompiled(5, (db, queue: string, id: string, data: string, runAt: number, now: number) =>
  db
    .insertInto('job')
    .values({ queue, id, data, run_at: runAt, visible_at: runAt, attempts: 0, lease_owner: null, lease_until: null, created_at: now })
    .onConflict((conflict) =>
      conflict.columns(['queue', 'id']).doUpdateSet((eb) => ({
        data: eb.ref('excluded.data'),
        run_at: eb.ref('excluded.run_at'),
        visible_at: eb.ref('excluded.run_at'),
        version: eb('job.version', '+', 1),
        lease_owner: null,
        lease_until: null,
      })),
    ),
);

/** The statement of insertLeasedJob, compiled once per dialect. */
const insertLeasedStatement = new Precompiled(
  7,
  (db, queue: string, id: string, data: string, runAt: number, owner: string, leaseUntil: number, now: number) =>
    db
      .insertInto('job')
      .values({ queue, id, data, run_at: runAt, visible_at: leaseUntil, attempts: 1, lease_owner: owner, lease_until: leaseUntil, created_at: now })
      .onConflict((conflict) =>
        conflict.columns(['queue', 'id']).doUpdateSet((eb) => ({
          data: eb.ref('excluded.data'),
          run_at: eb.ref('excluded.run_at'),
          visible_at: eb.ref('excluded.visible_at'),
          version: eb('job.version', '+', 1),
          attempts: eb('job.attempts', '+', 1),
          lease_owner: eb.ref('excluded.lease_owner'),
          lease_until: eb.ref('excluded.lease_until'),
        })),
      )
      .returning(['version', 'attempts']),
);

/**
 * Inserts a due job already claimed by `scope.owner` until `leaseUntil`, or replaces the job
 * of that id with it, for a consumer of this process that starts it after the commit
 * without a claim statement. Returns the claim: the job's version and attempt count.
 */
export async function insertLeasedJob(
  db: Kysely<Database>,
  scope: ClaimScope,
  row: JobRow,
  leaseUntil: number,
  now: number,
): Promise<ClaimedRow> {
  const { rows } = await insertLeasedStatement.execute(db, scope.queue, row.id, row.data, row.runAt, scope.owner, leaseUntil, now);
  const [written] = rows;
  if (written === undefined) {
    throw new Error(`Inserting the leased job ${row.id} returned no row.`);
  }
  return { id: row.id, data: row.data, runAt: row.runAt, attempts: written.attempts, version: written.version };
}

/** Claim statement of claimDueJobs, compiled once per dialect. */
const claimStatement = new Precompiled(5, (db, queue: string, owner: string, leaseUntil: number, now: number, limit: number) => {
  // On PostgreSQL two workers could select the same rows, so the subquery locks the rows it
  // picks, after checking them again on their latest version, and skips rows that another
  // worker has locked. SQLite rejects the clause and needs none, because one statement
  // holds the database's write lock throughout.
  let dueIds = db
    .selectFrom('job')
    .select('id')
    .where('queue', '=', queue)
    .where((eb) => isClaimable(eb, now))
    .orderBy('visible_at')
    .limit(limit);
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    dueIds = dueIds.forUpdate().skipLocked();
  }
  return db
    .updateTable('job')
    .set((eb) => ({ lease_owner: owner, lease_until: leaseUntil, visible_at: leaseUntil, attempts: eb('attempts', '+', 1) }))
    .where('queue', '=', queue)
    .where('id', 'in', dueIds)
    .returning(['id', 'data', 'run_at', 'attempts', 'version']);
});

const nextVisibleAtStatement = new Precompiled(2, (db, queue: string, now: number) =>
  db
    .selectFrom('job')
    .select((eb) => eb.fn.min('visible_at').as('next'))
    .where('queue', '=', queue)
    .where('visible_at', '>', now),
);

/** Completion of one claim, as a statement that finds its row by primary key. */
const deleteClaimStatement = new Precompiled(4, (db, queue: string, id: string, version: number, owner: string) =>
  db.deleteFrom('job').where('queue', '=', queue).where('id', '=', id).where('version', '=', version).where('lease_owner', '=', owner),
);

/**
 * Claims up to `limit` due jobs in one statement, earliest run time first. A job is due
 * when its run time has come and it has no lease or its lease has ended. Each claim gets a
 * lease until `now + leaseMs` and counts one attempt. Returns the claimed rows sorted by run time.
 */
export async function claimDueJobs(
  db: Kysely<Database>,
  scope: ClaimScope,
  options: { limit: number; leaseMs: number; now: number },
): Promise<ClaimedRow[]> {
  const { limit, leaseMs, now } = options;
  const { rows } = await claimStatement.execute(db, scope.queue, scope.owner, now + leaseMs, now, limit);

  // UPDATE ... RETURNING gives rows in no defined order.
  return rows
    .map((row) => ({ id: row.id, data: row.data, runAt: Number(row.run_at), attempts: row.attempts, version: row.version }))
    .sort((left, right) => left.runAt - right.runAt);
}

/**
 * Deletes completed jobs, unless they were replaced or claimed by another owner since. Each
 * job is one statement on the primary key. Pass a transaction to make the deletions part of
 * other writes, so they cost no commit of their own.
 */
export async function deleteClaimedJobs(db: Kysely<Database>, scope: ClaimScope, claims: readonly ClaimKey[]): Promise<void> {
  for (const claim of claims) {
    await deleteClaimStatement.execute(db, scope.queue, claim.id, claim.version, scope.owner);
  }
}

/** Ends a claim and sets the job's next run time. Returns whether the claim was still valid. */
export async function rescheduleClaimedJob(
  db: Kysely<Database>,
  scope: ClaimScope,
  claim: ClaimKey,
  runAt: number,
): Promise<boolean> {
  const result = await db
    .updateTable('job')
    .set({ run_at: runAt, visible_at: runAt, lease_owner: null, lease_until: null })
    .where('queue', '=', scope.queue)
    .where('id', '=', claim.id)
    .where('version', '=', claim.version)
    .where('lease_owner', '=', scope.owner)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Returns claimed jobs to the queue at their current run time and takes back the attempt
 * that claiming counted, so a shutdown does not use up a job's attempts.
 */
export async function releaseClaimedJobs(db: Kysely<Database>, scope: ClaimScope, claims: readonly ClaimKey[]): Promise<void> {
  for (const batch of chunk(claims, rowsPerStatement)) {
    await db
      .updateTable('job')
      .set((eb) => ({ lease_owner: null, lease_until: null, visible_at: eb.ref('run_at'), attempts: eb('attempts', '-', 1) }))
      .where('queue', '=', scope.queue)
      .where('lease_owner', '=', scope.owner)
      .where((eb) => matchesClaims(eb, batch))
      .execute();
  }
}

/** Moves the lease end of jobs still leased to this owner to `leaseUntil`. */
export async function extendLeases(db: Kysely<Database>, scope: ClaimScope, ids: readonly string[], leaseUntil: number): Promise<void> {
  for (const batch of chunk(ids, rowsPerStatement)) {
    await db
      .updateTable('job')
      .set({ lease_until: leaseUntil, visible_at: leaseUntil })
      .where('queue', '=', scope.queue)
      .where('lease_owner', '=', scope.owner)
      .where('id', 'in', batch)
      .execute();
  }
}

/**
 * Returns the earliest time after `now` at which a job of the queue becomes claimable, by its
 * run time or the end of its lease, or undefined when there is none.
 */
export async function findNextRunAt(db: Kysely<Database>, queue: string, now: number): Promise<number | undefined> {
  const [row] = (await nextVisibleAtStatement.execute(db, queue, now)).rows;
  return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
}

/**
 * Counts a queue's jobs by state. It reads every row of the queue, so it suits status pages
 * and metrics rather than a hot path.
 */
export async function countJobs(db: Kysely<Database>, queue: string, now: number): Promise<QueueCounts> {
  const leased = sql<boolean>`lease_until is not null and lease_until >= ${now}`;
  const row = await db
    .selectFrom('job')
    .select([
      sql<number | string | null>`sum(case when ${leased} then 1 else 0 end)`.as('active'),
      sql<number | string | null>`sum(case when not (${leased}) and run_at > ${now} then 1 else 0 end)`.as('delayed'),
      sql<number | string | null>`sum(case when not (${leased}) and run_at <= ${now} then 1 else 0 end)`.as('waiting'),
    ])
    .where('queue', '=', queue)
    .executeTakeFirstOrThrow();

  // SUM is null over no rows, and PostgreSQL returns it as a string.
  return {
    waiting: Number(row.waiting ?? 0),
    delayed: Number(row.delayed ?? 0),
    active: Number(row.active ?? 0),
  };
}

/** Returns the run time of the earliest due job that no consumer holds, or null. */
export async function oldestWaitingRunAt(db: Kysely<Database>, queue: string, now: number): Promise<number | null> {
  const row = await db
    .selectFrom('job')
    .select((eb) => eb.fn.min('run_at').as('oldest'))
    .where('queue', '=', queue)
    .where((eb) => isClaimable(eb, now))
    .executeTakeFirst();
  return row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest);
}

/** Deletes a job unless it is under an unexpired lease. Returns whether a job was deleted. */
export async function deleteUnleasedJob(db: Kysely<Database>, queue: string, id: string, now: number): Promise<boolean> {
  const result = await db
    .deleteFrom('job')
    .where('queue', '=', queue)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
