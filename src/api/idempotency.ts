import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ValidationError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { errorCodes, HttpError } from './errors.js';

/** How long a key and its stored response are kept. */
const keyLifetimeMs = 24 * 60 * 60 * 1000;

interface IdempotencyState {
  scope: string;
  key: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency?: IdempotencyState;
  }
}

function scopeOf(request: FastifyRequest): string {
  const principal = request.principal;
  return principal?.kind === 'application' ? `app:${principal.appId}` : 'admin';
}

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(request.method)
    .update('\n')
    .update(request.url)
    .update('\n')
    .update(JSON.stringify(request.body ?? null))
    .digest('hex');
}

/**
 * Implements the `Idempotency-Key` header on POST routes that create something. The first
 * request with a key runs, and its 2xx response is stored for 24 hours. A repeat gets the
 * stored response, a repeat while the first still runs gets 409, and the same key with a
 * different request gets 422.
 */
export function registerIdempotency(app: FastifyInstance, store: Store, clock: () => number): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.config.idempotent !== true) {
      return;
    }
    const header = request.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined || key === '') {
      return;
    }
    if (key.length > 256) {
      throw new HttpError(400, errorCodes.badRequest, `Idempotency-Key has ${key.length} characters; send at most 256.`);
    }

    const scope = scopeOf(request);
    const claim = await store.idempotencyKeys.claim(scope, key, requestHash(request), clock(), keyLifetimeMs);
    switch (claim.kind) {
      case 'claimed':
        request.idempotency = { scope, key };
        return;
      case 'in_progress':
        throw new HttpError(409, errorCodes.conflict, 'A request with this Idempotency-Key is still being processed; retry after it finishes.');
      case 'mismatch':
        throw ValidationError.field(
          ['header', 'idempotency-key'],
          'This Idempotency-Key was already used for a request with a different method, URL or body; send a new key for a new request.',
          'value_error.idempotency_key_reused',
        );
      case 'completed':
        reply.header('idempotent-replayed', 'true');
        void reply.status(claim.statusCode).type('application/json').send(claim.body);
        return reply;
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const state = request.idempotency;
    if (!state) {
      return payload;
    }
    request.idempotency = undefined;
    if (reply.statusCode >= 200 && reply.statusCode < 300) {
      let body = '';
      if (typeof payload === 'string') {
        body = payload;
      } else if (payload !== null && payload !== undefined) {
        body = String(payload);
      }
      await store.idempotencyKeys.complete(state.scope, state.key, reply.statusCode, body);
    } else {
      await store.idempotencyKeys.release(state.scope, state.key);
    }
    return payload;
  });
}
