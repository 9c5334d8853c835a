import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';
import { errorCodes, HttpError } from './errors.js';

/** Caller of a request, from its bearer token. */
export type Principal = { kind: 'admin' } | { kind: 'application'; appId: string; tokenId: string; readOnly: boolean };

/** Kind of an application token created with `readOnly: true`. Other application tokens have the kind `app`. */
export const readOnlyTokenKind = 'app-read-only';

/** Route that a read-only token may call with POST, because it only revokes that token. */
const logoutUrl = '/api/v1/auth/logout';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function readBearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (!header) {
    throw new HttpError(401, errorCodes.authenticationFailed, 'Missing bearer token; send "Authorization: Bearer <token>".');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new HttpError(
      401,
      errorCodes.authenticationFailed,
      'Malformed Authorization header; send "Authorization: Bearer <token>" with the token and nothing after it.',
    );
  }
  return match[1];
}

/**
 * Checks the bearer token of every route with an access level other than `public`.
 * The admin token may do anything; an application token may call `application` routes
 * of its own application only.
 */
export function registerAuth(app: FastifyInstance, store: Store, adminToken: string, clock: () => number): void {
  const adminDigest = digest(adminToken);

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public') {
      return;
    }

    const token = readBearerToken(request);
    if (timingSafeEqual(digest(token), adminDigest)) {
      request.principal = { kind: 'admin' };
      return;
    }

    const stored = await store.tokens.findByToken(token);
    if (!stored || stored.appId === null || (stored.expiresAt !== null && stored.expiresAt <= clock())) {
      throw new HttpError(401, errorCodes.authenticationFailed, 'Invalid or expired token; send the admin token or a current application token.');
    }
    if (access !== 'application') {
      throw new HttpError(403, errorCodes.forbidden, 'This route needs the admin token.');
    }
    const readOnly = stored.kind === readOnlyTokenKind;
    if (readOnly && request.method !== 'GET' && request.method !== 'HEAD' && request.routeOptions.url !== logoutUrl) {
      throw new HttpError(403, errorCodes.forbidden, 'This token is read-only; it may send GET requests and log out.');
    }
    request.principal = { kind: 'application', appId: stored.appId, tokenId: stored.id, readOnly };
  });

  // An application token reaches only its own application, named by id or uid in the path.
  app.addHook('preHandler', async (request) => {
    const principal = request.principal;
    if (principal?.kind !== 'application') {
      return;
    }
    const params = request.params as { app_id?: string } | undefined;
    const appIdOrUid = params?.app_id;
    if (appIdOrUid === undefined) {
      return;
    }
    if (appIdOrUid === principal.appId) {
      return;
    }
    const application = await store.applications.findByIdOrUid(appIdOrUid);
    if (!application || application.id !== principal.appId) {
      throw new HttpError(403, errorCodes.forbidden, 'This token belongs to another application.');
    }
  });
}
