import type { Generated } from 'kysely';

/**
 * Tables of the store. Times are milliseconds since the Unix epoch, flags are 0 or 1, and
 * JSON columns hold text, so the same schema and queries run on SQLite and PostgreSQL.
 */
export interface Database {
  application: ApplicationTable;
  event_type: EventTypeTable;
  endpoint: EndpointTable;
  endpoint_secret: EndpointSecretTable;
  message: MessageTable;
  delivery: DeliveryTable;
  attempt: AttemptTable;
  token: TokenTable;
  idempotency_key: IdempotencyKeyTable;
  job: JobTable;
  trap: TrapTable;
  outbox: OutboxTable;
  endpoint_health: EndpointHealthTable;
  attempt_stat: AttemptStatTable;
  retention_progress: RetentionProgressTable;
}

export interface ApplicationTable {
  id: string;
  uid: string | null;
  name: string;
  throttle_rate: number | null;
  /** JSON object of string values. */
  metadata: string;
  created_at: number;
  updated_at: number;
}

export interface EventTypeTable {
  name: string;
  description: string;
  /** JSON object mapping a schema version to a JSON Schema, or null. */
  schemas: string | null;
  archived: number;
  deprecated: number;
  feature_flag: string | null;
  created_at: number;
  updated_at: number;
}

export interface EndpointTable {
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: number;
  throttle_rate: number | null;
  /** JSON array of event type names, or null for every event type. */
  event_types: string | null;
  /** JSON array of channels, or null for every channel. */
  channels: string | null;
  /** JSON object of string values. */
  metadata: string;
  /** JSON object of custom request headers. */
  headers: string;
  created_at: number;
  updated_at: number;
}

export interface EndpointSecretTable {
  id: string;
  endpoint_id: string;
  /** `whsec_` followed by base64 bytes. */
  secret: string;
  created_at: number;
  /** Null for the current secret; for a rotated-out secret, when it stops signing. */
  expires_at: number | null;
}

export interface MessageTable {
  id: string;
  app_id: string;
  event_type: string;
  event_id: string | null;
  /** The exact bytes that are signed and sent as the request body. */
  payload: Buffer;
  /** JSON array of channels, or null. */
  channels: string | null;
  /** JSON array of tags, or null. */
  tags: string | null;
  created_at: number;
  /** 1 once fan-out created the message's deliveries. */
  fanned_out: Generated<number>;
  /** SQLite only: position in the application's stream, in commit order, set by a trigger. */
  stream_seq: Generated<number | null>;
  /** PostgreSQL only: id of the transaction that inserted the message (xid8, as text). */
  stream_xid: Generated<string>;
  /** When the message's own payloadRetentionPeriod ends, or null when only HOOKLINE_RETENTION_DAYS applies. */
  payload_expires_at: number | null;
}

export interface DeliveryTable {
  id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  /** 0 success, 1 pending, 2 fail, 3 sending, as Svix's MessageStatus. */
  status: number;
  attempt_count: number;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptTable {
  id: string;
  delivery_id: string;
  msg_id: string;
  endpoint_id: string;
  app_id: string;
  url: string;
  /** 0 success or 2 fail. */
  status: number;
  /** HTTP status of the response, or 0 when none arrived. */
  response_status_code: number;
  /** Response body, truncated to the configured cap. */
  response: string;
  response_duration_ms: number;
  /** 0 scheduled, 1 manual. */
  trigger_type: number;
  /** Reason no response arrived (timeout, reset, DNS), or null. */
  error: string | null;
  /** JSON object of the request headers that were sent. */
  request_headers: string;
  created_at: number;
}

export interface TokenTable {
  id: string;
  /** SHA-256 of the token, hex. The token itself is never stored. */
  token_hash: string;
  /** `app` for application tokens. */
  kind: string;
  app_id: string | null;
  expires_at: number | null;
  created_at: number;
}

export interface IdempotencyKeyTable {
  /** Caller that sent the request, so two callers may use the same key. */
  scope: string;
  key: string;
  /** SHA-256 of method, path and body, to reject a key reused for another request. */
  request_hash: string;
  /** Null while the first request is still running. */
  status_code: number | null;
  response_body: string | null;
  created_at: number;
  expires_at: number;
}

export interface JobTable {
  queue: string;
  id: string;
  /** JSON job data. */
  data: string;
  run_at: number;
  /** Times the job was claimed, including the current claim. */
  attempts: number;
  /** Incremented each time the job is added or replaced, so a stale claim cannot finish a newer job. */
  version: Generated<number>;
  lease_owner: string | null;
  lease_until: number | null;
  /** When the job may be claimed: its run time while no consumer holds it, its lease end while one does. */
  visible_at: number;
  created_at: number;
}

/** Traps of the workshop API: `trap.set` creates one, `trap.diffuse` ends it. */
export interface TrapTable {
  id: string;
  account_id: string;
  status: string;
  created_at: number;
  updated_at: number;
}

/** Jobs waiting to be moved to a queue outside the database, in commit order. */
export interface OutboxTable {
  seq: Generated<number>;
  queue: string;
  job_id: string;
  /** JSON job data. */
  data: string;
  run_at: number;
  created_at: number;
}

export interface EndpointHealthTable {
  endpoint_id: string;
  /** Time of the first failure since the endpoint's last success, or null while it succeeds. */
  failing_since: number | null;
  /** When Hookline disabled the endpoint automatically, or null. */
  disabled_at: number | null;
  /** Why Hookline disabled the endpoint: `gone` (410) or `failing` (HOOKLINE_DISABLE_AFTER). */
  disabled_reason: string | null;
}

/**
 * Attempt counts of one endpoint in one time bucket. `granularity` is `minute`, `hour` or
 * `day`, and `bucket_start` is the bucket's first millisecond (UTC). `lat_0` … `lat_11`
 * count the attempts whose duration fell in each bin of `latencyBinBounds`.
 */
export interface AttemptStatTable {
  endpoint_id: string;
  granularity: string;
  bucket_start: number;
  app_id: string;
  success: number;
  fail: number;
  lat_0: number;
  lat_1: number;
  lat_2: number;
  lat_3: number;
  lat_4: number;
  lat_5: number;
  lat_6: number;
  lat_7: number;
  lat_8: number;
  lat_9: number;
  lat_10: number;
  lat_11: number;
}

/**
 * How far each step of the retention job got: the time (or expiry) and id of the last row
 * it handled, in the order of the index that the step walks.
 */
export interface RetentionProgressTable {
  name: string;
  position: number;
  last_id: string;
}
