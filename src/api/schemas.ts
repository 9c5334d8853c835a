import { z } from 'zod';

/** Identifiers chosen by callers (uids, event type names, channels), as the Svix API restricts them. */
const identifierPattern = /^[a-zA-Z0-9\-_.]+$/;

export const uid = z.string().min(1).max(256).regex(identifierPattern, 'may contain only letters, digits, "-", "_" and "."');
export const eventTypeName = z
  .string()
  .min(1)
  .max(256)
  .regex(identifierPattern, 'may contain only letters, digits, "-", "_" and "."');
export const channel = z.string().min(1).max(128).regex(identifierPattern, 'may contain only letters, digits, "-", "_" and "."');
/**
 * Free text such as names and descriptions. NUL is rejected because PostgreSQL text
 * columns cannot store it.
 */
const text = z.string().regex(/^[^\0]*$/, 'must not contain NUL characters');
const metadata = z.record(z.string(), z.string());
const throttleRate = z.number().int().min(1).max(65535);
const secretPattern = /^((whsec_)?[a-zA-Z0-9+/=]{32,100}|whsk_[a-zA-Z0-9+/=]{43,88})$/;
export const secret = z
  .string()
  .regex(
    secretPattern,
    'must be base64 of 24 to 64 bytes, optionally prefixed with whsec_, or an ed25519 key: whsk_ and base64 of the 32-byte seed',
  );
export const signatureScheme = z
  .enum(['hmac-sha256', 'ed25519'])
  .describe(
    'Scheme of the secret that Hookline generates when none is given: hmac-sha256 (whsec_ secret, v1 signatures, the default) or ed25519 (whsk_ signing key, v1a signatures, and GET …/secret returns the whpk_ public key). A Hookline extension of the Svix API.',
  );

function uniqueList<T extends z.ZodType>(item: T, maxItems?: number, emptyMessage?: string) {
  let list = z.array(item);
  if (emptyMessage !== undefined) {
    list = list.min(1, emptyMessage);
  }
  if (maxItems !== undefined) {
    list = list.max(maxItems);
  }
  return list.refine((items) => new Set(items).size === items.length, 'must not contain the same item twice');
}

/**
 * Builds a list that filters (event types, channels). An empty list would read as "none" but,
 * stored as no filter, would mean "all", so it is refused: callers send null or leave the
 * field out for "all".
 */
function filterList<T extends z.ZodType>(item: T, maxItems?: number) {
  return uniqueList(item, maxItems, 'must list at least one item; send null or leave the field out to match all');
}

/** An id or uid in a path, such as `app_…`, a uid or an event type name. */
export const pathIdentifier = uid;

// The svix client libraries (v1.x) send `rateLimit` and `filterTypes` where the Svix
// server's OpenAPI spec names the fields `throttleRate` and `eventTypes`. Both names are
// accepted and folded into the spec's name, which wins when a request sends both.
const rateLimitAlias = throttleRate.nullish().describe('Same as throttleRate, under the name the svix client libraries send.');
const filterTypesAlias = (item: z.ZodType<string>) =>
  filterList(item).nullish().describe('Same as eventTypes, under the name the svix client libraries send.');

interface RateLimitFields {
  throttleRate?: number | null | undefined;
  rateLimit?: number | null | undefined;
}

interface FilterTypesFields {
  eventTypes?: string[] | null | undefined;
  filterTypes?: string[] | null | undefined;
}

function foldRateLimit<T extends RateLimitFields>(input: T): Omit<T, 'rateLimit'> {
  const { rateLimit, ...rest } = input;
  return rest.throttleRate === undefined && rateLimit !== undefined ? { ...rest, throttleRate: rateLimit } : rest;
}

function foldFilterTypes<T extends FilterTypesFields>(input: T): Omit<T, 'filterTypes'> {
  const { filterTypes, ...rest } = input;
  return rest.eventTypes === undefined && filterTypes !== undefined ? { ...rest, eventTypes: filterTypes } : rest;
}

function foldEndpointAliases<T extends RateLimitFields & FilterTypesFields>(input: T) {
  return foldFilterTypes(foldRateLimit(input));
}

export const applicationIn = z
  .object({
    name: text.min(1),
    uid: uid.nullish(),
    throttleRate: throttleRate.nullish(),
    rateLimit: rateLimitAlias,
    metadata: metadata.optional(),
  })
  .transform(foldRateLimit);

export const applicationPatch = z
  .object({
    name: text.min(1).optional(),
    uid: uid.nullish(),
    throttleRate: throttleRate.nullish(),
    rateLimit: rateLimitAlias,
    metadata: metadata.optional(),
  })
  .transform(foldRateLimit);

export const eventTypeIn = z.object({
  name: eventTypeName,
  description: text,
  schemas: z.record(z.string(), z.record(z.string(), z.unknown())).nullish(),
  archived: z.boolean().optional(),
  deprecated: z.boolean().optional(),
  featureFlag: uid.nullish(),
});

export const eventTypeUpdate = eventTypeIn.omit({ name: true });
export const eventTypePatch = eventTypeUpdate.partial();

const endpointFields = {
  url: z.string().min(1).max(65536),
  description: text.optional(),
  uid: uid.nullish(),
  disabled: z.boolean().optional(),
  throttleRate: throttleRate.nullish(),
  rateLimit: rateLimitAlias,
  eventTypes: filterList(eventTypeName).nullish(),
  filterTypes: filterTypesAlias(eventTypeName),
  channels: filterList(channel, 10).nullish(),
  metadata: metadata.optional(),
};

export const endpointIn = z
  .object({
    ...endpointFields,
    secret: secret.nullish(),
    signatureScheme: signatureScheme.nullish(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .transform(foldEndpointAliases);

export const endpointUpdate = z.object(endpointFields).transform(foldEndpointAliases);
export const endpointPatch = z.object(endpointFields).partial().transform(foldEndpointAliases);

export const endpointHeadersIn = z.object({ headers: z.record(z.string(), z.string()) });

/**
 * Headers to set and headers to remove. A null value removes a header, as in the spec, and
 * so does a name in `deleteHeaders`, which the svix client libraries send.
 */
export const endpointHeadersPatchIn = z
  .object({
    headers: z.record(z.string(), z.string().nullable()),
    deleteHeaders: z.array(z.string().min(1).max(256)).max(100).optional(),
  })
  .transform(({ headers, deleteHeaders = [] }) => ({
    headers: Object.fromEntries([...Object.entries(headers), ...deleteHeaders.map((name) => [name, null] as const)]),
  }));

export const secretRotateIn = z
  .object({
    key: secret.nullish(),
    gracePeriodSeconds: z.number().int().min(0).max(604_800).nullish(),
    signatureScheme: signatureScheme
      .nullish()
      .describe('Scheme of the generated key when `key` is not given; defaults to the scheme of the current secret. A Hookline extension of the Svix API.'),
  })
  .nullish();

export const isoDate = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));

export const recoverIn = z.object({
  since: isoDate,
  until: isoDate.nullish(),
});

export const messageIn = z.object({
  eventType: eventTypeName,
  payload: z.record(z.string(), z.unknown()),
  eventId: uid.nullish(),
  channels: filterList(channel, 5).nullish(),
  tags: uniqueList(z.string().min(1).max(128)).nullish(),
  payloadRetentionPeriod: z.number().int().min(5).max(90).nullish(),
  application: applicationIn.nullish(),
});

/**
 * Cursor of a list page: the last key of the page before (an id or an event type name),
 * or the first key with a leading "-" for the page before that.
 */
const iterator = z
  .string()
  .max(257)
  .regex(/^-?[a-zA-Z0-9\-_.]+$/, 'must be the iterator or prevIterator of a page of this list')
  .optional();

const booleanQuery = z
  .enum(['true', 'false'])
  .transform((text) => text === 'true')
  .optional();

/** Query values that may repeat (`event_types=a&event_types=b`) or come comma-separated. */
const listQuery = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (Array.isArray(value) ? value : value.split(',')).filter((entry) => entry !== ''))
    .pipe(z.array(item))
    .optional();

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  iterator,
  order: z.enum(['ascending', 'descending']).default('ascending'),
});

export const eventTypeListQuery = pageQuery.extend({
  include_archived: booleanQuery,
  with_content: booleanQuery,
});

export const messageListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  iterator,
  channel: channel.optional(),
  before: isoDate.optional(),
  after: isoDate.optional(),
  with_content: booleanQuery,
  event_types: listQuery(eventTypeName),
});

const messageStatus = z
  .enum(['0', '1', '2', '3'], { error: 'must be 0 (success), 1 (pending), 2 (fail) or 3 (sending)' })
  .transform((value) => Number(value) as 0 | 1 | 2 | 3);
const statusCodeClass = z
  .enum(['0', '100', '200', '300', '400', '500'], {
    error: 'must be 0 (no response), 100, 200, 300, 400 or 500 (the first digit of the status code, then 00)',
  })
  .transform(Number);

export const attemptListQuery = messageListQuery.extend({
  status: messageStatus.optional(),
  status_code_class: statusCodeClass.optional(),
  endpoint_id: uid.optional(),
});

export const withContentQuery = z.object({ with_content: booleanQuery });
export const getIfExistsQuery = z.object({ get_if_exists: booleanQuery });
export const expungeQuery = z.object({ expunge: booleanQuery });
export const statsQuery = z.object({ since: isoDate.optional(), until: isoDate.optional() });

/** A position in an application's event stream, as the pull API and the event stream return it. */
const streamIterator = z
  .string()
  .max(300)
  .regex(/^[a-zA-Z0-9\-_.]+$/, 'must be the iterator of a previous response of this event stream')
  .optional();

const streamFilterQuery = {
  event_types: listQuery(eventTypeName).describe('Only messages of these event types (repeat the parameter or separate with commas).'),
  channels: listQuery(channel).describe('Only messages with at least one of these channels.'),
  after: isoDate.optional().describe('Only messages created after this time (RFC 3339).'),
};

export const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  iterator: streamIterator.describe('Continue after this position: the iterator of the previous response. Without it, reading starts at the oldest message.'),
  ...streamFilterQuery,
  wait: z.coerce
    .number()
    .min(0)
    .max(30)
    .default(0)
    .describe('Seconds to wait for a message when none is newer than the iterator (long polling), from 0 to 30. Default 0.'),
});

export const eventStreamQuery = z.object({
  iterator: streamIterator.describe(
    'Start after this position. The Last-Event-ID header wins over it. Without either, the stream starts with messages accepted after the connection opened.',
  ),
  ...streamFilterQuery,
});
