import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Gives every message a position in its application's stream that follows commit order,
 * so a reader that resumes after a position never skips a message committed late.
 *
 * - SQLite runs one write transaction at a time, so a counter bumped by an insert trigger
 *   is in commit order. The counter lives in a table of its own, so deleting the newest
 *   messages never lets a position be handed out twice.
 * - PostgreSQL commits concurrent transactions in any order, so each message records the
 *   id of the transaction that inserted it. Readers release only messages whose
 *   transaction id is below the oldest transaction still running: every transaction
 *   below that line has ended, so no message can appear there later.
 */
export function messageStreamMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'postgres') {
        // Messages stored before this migration share the migration's transaction id and
        // are ordered by their time-ordered ids.
        await sql`alter table message add column stream_xid xid8 not null default pg_current_xact_id()`.execute(db);
        await sql`create index message_app_stream on message (app_id, stream_xid, id)`.execute(db);
        return;
      }

      await sql`create table stream_counter (name text primary key, value integer not null)`.execute(db);
      await sql`insert into stream_counter (name, value) select 'message', coalesce(max(rowid), 0) from message`.execute(db);
      await sql`alter table message add column stream_seq integer`.execute(db);
      await sql`update message set stream_seq = rowid`.execute(db);
      await sql`
        create trigger message_stream_seq after insert on message
        begin
          update stream_counter set value = value + 1 where name = 'message';
          update message set stream_seq = (select value from stream_counter where name = 'message') where rowid = new.rowid;
        end
      `.execute(db);
      await sql`create index message_app_stream on message (app_id, stream_seq)`.execute(db);
    },
  };
}
