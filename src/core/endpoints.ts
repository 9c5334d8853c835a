import { generateAsymmetricSecret, isAsymmetricSecret, publicKeyOf, validateAsymmetricSecret } from '../signing/asymmetric.js';
import { generateSecret, parseSecret } from '../signing/secret.js';
import { createId } from '../store/ids.js';
import type { Page, PageRequest } from '../store/pagination.js';
import type { Endpoint } from '../store/records.js';
import type { Store } from '../store/store.js';
import { isUniqueViolation, type ApplicationService } from './applications.js';
import type { Clock } from './clock.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { validateEndpointUrl } from './endpoint-url.js';

export interface EndpointInput {
  url: string;
  description?: string | undefined;
  uid?: string | null | undefined;
  disabled?: boolean | undefined;
  throttleRate?: number | null | undefined;
  eventTypes?: string[] | null | undefined;
  channels?: string[] | null | undefined;
  metadata?: Record<string, string> | undefined;
  secret?: string | null | undefined;
  /** Scheme of the secret generated when `secret` is not given. */
  signatureScheme?: SignatureScheme | null | undefined;
  headers?: Record<string, string> | undefined;
}

export type EndpointPatch = Partial<Omit<EndpointInput, 'secret' | 'signatureScheme'>>;

/**
 * Scheme that signs an endpoint's webhooks: HMAC-SHA256 with a shared `whsec_` secret
 * (`v1` signatures), or ed25519 with a `whsk_` private key whose `whpk_` public key the
 * receiver verifies with (`v1a` signatures).
 */
export type SignatureScheme = 'hmac-sha256' | 'ed25519';

/** Headers an endpoint may not set, because Hookline sets them on every request. */
const reservedHeaders = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'connection',
  'transfer-encoding',
]);

/** Default time a rotated-out secret keeps signing beside the new one. */
export const defaultGracePeriodSeconds = 24 * 60 * 60;

export class EndpointService {
  constructor(
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly clock: Clock,
  ) {}

  /** Finds an endpoint of an application by id or uid, or throws NotFoundError. */
  async get(appIdOrUid: string, endpointIdOrUid: string): Promise<Endpoint> {
    const application = await this.applications.get(appIdOrUid);
    const endpoint = await this.store.endpoints.findByIdOrUid(application.id, endpointIdOrUid);
    if (!endpoint) {
      throw new NotFoundError('Endpoint', endpointIdOrUid);
    }
    return endpoint;
  }

  async create(appIdOrUid: string, input: EndpointInput): Promise<Endpoint> {
    const application = await this.applications.get(appIdOrUid);
    validateEndpointUrl(input.url);
    const headers = validateHeaders(input.headers ?? {}, ['body', 'headers']);
    const secret = chooseSecret(input.secret, input.signatureScheme ?? undefined, ['body', 'secret']);
    if (input.uid) {
      await this.ensureUidFree(application.id, input.uid, undefined);
    }

    const now = this.clock();
    const endpoint: Endpoint = {
      id: createId('ep', now),
      appId: application.id,
      uid: input.uid ?? null,
      url: input.url,
      description: input.description ?? '',
      disabled: input.disabled ?? false,
      throttleRate: input.throttleRate ?? null,
      eventTypes: emptyToNull(input.eventTypes),
      channels: emptyToNull(input.channels),
      metadata: input.metadata ?? {},
      headers,
      createdAt: now,
      updatedAt: now,
    };
    await this.writeWithUid(endpoint.uid, () => this.store.endpoints.insert(endpoint, secret));
    return endpoint;
  }

  /** Replaces an endpoint's fields (PUT). Headers and the secret are kept. */
  async update(appIdOrUid: string, endpointIdOrUid: string, input: EndpointInput): Promise<Endpoint> {
    const current = await this.get(appIdOrUid, endpointIdOrUid);
    return this.save(current, {
      url: input.url,
      description: input.description ?? '',
      uid: input.uid ?? null,
      disabled: input.disabled ?? false,
      throttleRate: input.throttleRate ?? null,
      eventTypes: input.eventTypes ?? null,
      channels: input.channels ?? null,
      metadata: input.metadata ?? {},
    });
  }

  /** Changes only the given fields (PATCH). */
  async patch(appIdOrUid: string, endpointIdOrUid: string, patch: EndpointPatch): Promise<Endpoint> {
    const current = await this.get(appIdOrUid, endpointIdOrUid);
    return this.save(current, patch);
  }

  async delete(appIdOrUid: string, endpointIdOrUid: string): Promise<void> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    await this.store.endpoints.delete(endpoint.id);
  }

  async list(appIdOrUid: string, page: PageRequest): Promise<Page<Endpoint>> {
    const application = await this.applications.get(appIdOrUid);
    return this.store.endpoints.list(application.id, page);
  }

  /**
   * Returns the key that receivers verify the endpoint's webhooks with: the current
   * `whsec_` secret, or for an ed25519 endpoint the `whpk_` public key of its signing key.
   */
  async getSecret(appIdOrUid: string, endpointIdOrUid: string): Promise<string> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    const current = await this.currentSecret(endpoint.id);
    return isAsymmetricSecret(current) ? publicKeyOf(current) : current;
  }

  private async currentSecret(endpointId: string): Promise<string> {
    const [current] = await this.store.endpoints.activeSecrets(endpointId, this.clock());
    if (!current) {
      throw new NotFoundError('Endpoint secret');
    }
    return current.secret;
  }

  /**
   * Replaces the signing secret. The old secret keeps signing beside the new one for
   * `gracePeriodSeconds`, so receivers can switch without rejecting a webhook. Without a
   * key, a new one is generated for `scheme`, which defaults to the scheme of the current
   * secret.
   */
  async rotateSecret(
    appIdOrUid: string,
    endpointIdOrUid: string,
    key: string | null | undefined,
    gracePeriodSeconds: number = defaultGracePeriodSeconds,
    scheme?: SignatureScheme,
  ): Promise<void> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    const currentScheme = isAsymmetricSecret(await this.currentSecret(endpoint.id)) ? 'ed25519' : 'hmac-sha256';
    const secret = chooseSecret(key, scheme ?? (key ? undefined : currentScheme), ['body', 'key']);
    const now = this.clock();
    await this.store.endpoints.rotateSecret(endpoint.id, secret, now, now + gracePeriodSeconds * 1000);
  }

  async getHeaders(appIdOrUid: string, endpointIdOrUid: string): Promise<Record<string, string>> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    return endpoint.headers;
  }

  /** Replaces all custom headers (PUT). */
  async setHeaders(appIdOrUid: string, endpointIdOrUid: string, headers: Record<string, string>): Promise<void> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    const validated = validateHeaders(headers, ['body', 'headers']);
    await this.store.endpoints.update({ ...endpoint, headers: validated, updatedAt: this.clock() });
  }

  /** Sets the given headers and removes those whose value is null (PATCH). */
  async patchHeaders(appIdOrUid: string, endpointIdOrUid: string, changes: Record<string, string | null>): Promise<void> {
    const endpoint = await this.get(appIdOrUid, endpointIdOrUid);
    const next: Record<string, string> = { ...endpoint.headers };
    for (const [name, value] of Object.entries(changes)) {
      const existing = Object.keys(next).find((key) => key.toLowerCase() === name.toLowerCase());
      if (existing !== undefined) {
        delete next[existing];
      }
      if (value !== null) {
        next[name] = value;
      }
    }
    const validated = validateHeaders(next, ['body', 'headers']);
    await this.store.endpoints.update({ ...endpoint, headers: validated, updatedAt: this.clock() });
  }

  private async save(current: Endpoint, changes: EndpointPatch): Promise<Endpoint> {
    if (changes.url !== undefined) {
      validateEndpointUrl(changes.url);
    }
    if (changes.uid && changes.uid !== current.uid) {
      await this.ensureUidFree(current.appId, changes.uid, current.id);
    }
    const next: Endpoint = {
      ...current,
      url: changes.url ?? current.url,
      description: changes.description ?? current.description,
      uid: changes.uid === undefined ? current.uid : changes.uid,
      disabled: changes.disabled ?? current.disabled,
      throttleRate: changes.throttleRate === undefined ? current.throttleRate : changes.throttleRate,
      eventTypes: changes.eventTypes === undefined ? current.eventTypes : emptyToNull(changes.eventTypes),
      channels: changes.channels === undefined ? current.channels : emptyToNull(changes.channels),
      metadata: changes.metadata ?? current.metadata,
      updatedAt: this.clock(),
    };
    await this.writeWithUid(next.uid, () => this.store.endpoints.update(next));
    if (current.disabled && !next.disabled) {
      // Enabling an endpoint by hand starts its failure streak afresh, so it is not
      // disabled again by failures from before.
      await this.store.endpointHealth.clear(current.id);
    }
    return next;
  }

  /** Runs a write, turning a uid taken by a concurrent request into a ConflictError. */
  private async writeWithUid(uid: string | null, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      // Two requests with the same uid can race past ensureUidFree; the unique index decides.
      if (uid && isUniqueViolation(error)) {
        throw new ConflictError(`An endpoint with uid "${uid}" already exists in this application.`);
      }
      throw error;
    }
  }

  private async ensureUidFree(appId: string, uid: string, ownId: string | undefined): Promise<void> {
    const holder = await this.store.endpoints.findByUid(appId, uid);
    if (holder && holder.id !== ownId) {
      throw new ConflictError(`An endpoint with uid "${uid}" already exists in this application.`);
    }
  }
}

function emptyToNull(list: string[] | null | undefined): string[] | null {
  return list && list.length > 0 ? [...new Set(list)] : null;
}

/**
 * Returns the secret to store: the given one, checked and with its prefix, or a new one of
 * the scheme. A given secret must fit the scheme when both are given.
 */
function chooseSecret(given: string | null | undefined, scheme: SignatureScheme | undefined, loc: string[]): string {
  if (!given) {
    return scheme === 'ed25519' ? generateAsymmetricSecret() : generateSecret();
  }

  const givenScheme: SignatureScheme = isAsymmetricSecret(given) ? 'ed25519' : 'hmac-sha256';
  if (scheme !== undefined && scheme !== givenScheme) {
    throw ValidationError.field(
      ['body', 'signatureScheme'],
      `signatureScheme is ${scheme} but ${loc[loc.length - 1]} is ${givenScheme === 'ed25519' ? 'a whsk_ ed25519 key' : 'a whsec_ HMAC secret'}; send a matching key, or leave out one of the two.`,
    );
  }
  if (givenScheme === 'ed25519') {
    const problem = validateAsymmetricSecret(given);
    if (problem !== undefined) {
      throw ValidationError.field(loc, `Invalid ed25519 signing key: ${problem}. Expected whsk_ followed by base64 of a 32-byte seed.`);
    }
    return given;
  }
  return normalizeSecret(given, loc);
}

function normalizeSecret(secret: string, loc: string[]): string {
  try {
    parseSecret(secret);
  } catch (error) {
    throw ValidationError.field(loc, error instanceof Error ? error.message : String(error));
  }
  return secret.startsWith('whsec_') ? secret : `whsec_${secret}`;
}

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// Characters an HTTP client accepts in a header value: tab, visible ASCII, space and
// Latin-1. Anything else would make every delivery to the endpoint fail.
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

function validateHeaders(headers: Record<string, string>, loc: string[]): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) {
      throw ValidationError.field(
        [...loc, name],
        `Header name "${name}" is invalid; a header name may contain only letters, digits and !#$%&'*+.^_\`|~-.`,
      );
    }
    if (reservedHeaders.has(name.toLowerCase())) {
      throw ValidationError.field([...loc, name], `Header "${name}" is set by Hookline on every webhook and cannot be overridden; remove it.`);
    }
    if (/[\r\n\0]/.test(value)) {
      throw ValidationError.field([...loc, name], `Header "${name}" has a line break or NUL character in its value; remove it.`);
    }
    if (!headerValue.test(value)) {
      throw ValidationError.field(
        [...loc, name],
        `Header "${name}" has a control character or a character outside Latin-1 (such as an emoji) in its value; percent-encode or remove it.`,
      );
    }
  }
  return headers;
}
