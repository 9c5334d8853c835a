import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Creates every table of the first release. */
export function initialMigration(dialect: Dialect): Migration {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';

  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('application')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('uid', 'text', (column) => column.unique())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('throttle_rate', 'integer')
        .addColumn('metadata', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('event_type')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('description', 'text', (column) => column.notNull())
        .addColumn('schemas', 'text')
        .addColumn('archived', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('deprecated', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('feature_flag', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('endpoint')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('app_id', 'text', (column) => column.notNull())
        .addColumn('uid', 'text')
        .addColumn('url', 'text', (column) => column.notNull())
        .addColumn('description', 'text', (column) => column.notNull())
        .addColumn('disabled', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('throttle_rate', 'integer')
        .addColumn('event_types', 'text')
        .addColumn('channels', 'text')
        .addColumn('metadata', 'text', (column) => column.notNull())
        .addColumn('headers', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addUniqueConstraint('endpoint_app_uid', ['app_id', 'uid'])
        .execute();
      await db.schema.createIndex('endpoint_app_id').on('endpoint').columns(['app_id', 'id']).execute();

      await db.schema
        .createTable('endpoint_secret')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('endpoint_id', 'text', (column) => column.notNull())
        .addColumn('secret', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
      await db.schema.createIndex('endpoint_secret_endpoint').on('endpoint_secret').column('endpoint_id').execute();

      await db.schema
        .createTable('message')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('app_id', 'text', (column) => column.notNull())
        .addColumn('event_type', 'text', (column) => column.notNull())
        .addColumn('event_id', 'text')
        .addColumn('payload', sql.raw(bytes), (column) => column.notNull())
        .addColumn('channels', 'text')
        .addColumn('tags', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('message_app_id').on('message').columns(['app_id', 'id']).execute();
      await db.schema
        .createIndex('message_app_event_id')
        .on('message')
        .columns(['app_id', 'event_id'])
        .unique()
        .where(sql.ref('event_id'), 'is not', null)
        .execute();

      await db.schema
        .createTable('delivery')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('msg_id', 'text', (column) => column.notNull())
        .addColumn('endpoint_id', 'text', (column) => column.notNull())
        .addColumn('app_id', 'text', (column) => column.notNull())
        .addColumn('status', 'integer', (column) => column.notNull())
        .addColumn('attempt_count', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .addUniqueConstraint('delivery_msg_endpoint', ['msg_id', 'endpoint_id'])
        .execute();
      await db.schema.createIndex('delivery_endpoint').on('delivery').columns(['endpoint_id', 'msg_id']).execute();
      await db.schema.createIndex('delivery_endpoint_status').on('delivery').columns(['endpoint_id', 'status', 'updated_at']).execute();

      await db.schema
        .createTable('attempt')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('delivery_id', 'text', (column) => column.notNull())
        .addColumn('msg_id', 'text', (column) => column.notNull())
        .addColumn('endpoint_id', 'text', (column) => column.notNull())
        .addColumn('app_id', 'text', (column) => column.notNull())
        .addColumn('url', 'text', (column) => column.notNull())
        .addColumn('status', 'integer', (column) => column.notNull())
        .addColumn('response_status_code', 'integer', (column) => column.notNull())
        .addColumn('response', 'text', (column) => column.notNull())
        .addColumn('response_duration_ms', 'integer', (column) => column.notNull())
        .addColumn('trigger_type', 'integer', (column) => column.notNull())
        .addColumn('error', 'text')
        .addColumn('request_headers', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('attempt_endpoint').on('attempt').columns(['endpoint_id', 'id']).execute();
      await db.schema.createIndex('attempt_msg').on('attempt').columns(['msg_id', 'id']).execute();

      await db.schema
        .createTable('token')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('token_hash', 'text', (column) => column.notNull().unique())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('app_id', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('idempotency_key')
        .addColumn('scope', 'text', (column) => column.notNull())
        .addColumn('key', 'text', (column) => column.notNull())
        .addColumn('request_hash', 'text', (column) => column.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('expires_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('idempotency_key_pk', ['scope', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_key_expires').on('idempotency_key').column('expires_at').execute();

      await db.schema
        .createTable('job')
        .addColumn('queue', 'text', (column) => column.notNull())
        .addColumn('id', 'text', (column) => column.notNull())
        .addColumn('data', 'text', (column) => column.notNull())
        .addColumn('run_at', 'bigint', (column) => column.notNull())
        .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('version', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('job_pk', ['queue', 'id'])
        .execute();
      await db.schema.createIndex('job_due').on('job').columns(['queue', 'run_at']).execute();

      await db.schema
        .createTable('trap')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('account_id', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();
    },
  };
}
