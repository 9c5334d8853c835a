import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError, ValidationError } from '../core/errors.js';

/**
 * Error codes of the HTTP API. Bodies are `{code, detail}` for every status but 422,
 * which is `{detail: [{loc, msg, type}]}`, as in the Svix server.
 */
export const errorCodes = {
  badRequest: 'bad_request',
  authenticationFailed: 'authentication_failed',
  forbidden: 'forbidden',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  conflict: 'conflict',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  uriTooLong: 'uri_too_long',
  tooManyRequests: 'rate_limited',
  unavailable: 'service_unavailable',
  internal: 'internal_error',
} as const;

/** An error with a status and code that the API sends as it is. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'HttpError';
  }
}

/** Sends every error in the API's shape; only faults of Hookline itself become 500. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ValidationError) {
    request.log.info({ problems: error.problems }, 'Request rejected: validation failed');
    void reply.status(422).send({ detail: error.problems });
    return;
  }
  if (error instanceof ServiceError || error instanceof HttpError) {
    request.log.info({ statusCode: error.statusCode, code: error.code }, `Request rejected: ${error.message}`);
    void reply.status(error.statusCode).send({ code: error.code, detail: error.message });
    return;
  }

  const fastifyError = error as FastifyError;
  const statusCode = fastifyError.statusCode ?? 500;
  if (statusCode < 500) {
    const { code, detail } = describeFrameworkError(fastifyError, statusCode, request);
    request.log.info({ statusCode, code, fastifyCode: fastifyError.code }, `Request rejected: ${detail}`);
    void reply.status(statusCode).send({ code, detail });
    return;
  }

  request.log.error({ err: error }, 'Request failed');
  void reply.status(500).send({ code: errorCodes.internal, detail: 'Internal error; the server log has the details.' });
}

function describeFrameworkError(
  error: FastifyError,
  statusCode: number,
  request: FastifyRequest,
): { code: string; detail: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        code: errorCodes.payloadTooLarge,
        detail: `Request body is larger than ${request.routeOptions.bodyLimit ?? 'the limit of'} bytes (HOOKLINE_MAX_PAYLOAD_SIZE); send a smaller body.`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const contentType = request.headers['content-type'] ?? '';
      return {
        code: errorCodes.unsupportedMediaType,
        detail: `Content type ${JSON.stringify(contentType.slice(0, 100))} is not supported; send the body as application/json.`,
      };
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: errorCodes.badRequest, detail: 'Request body is empty; send a JSON object.' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: errorCodes.badRequest, detail: 'Content-Length does not match the length of the request body.' };
    case 'FST_ERR_BAD_URL':
      return {
        code: errorCodes.badRequest,
        detail: 'The URL path contains an invalid percent-encoding, such as "%" not followed by two hex digits; encode "%" as "%25".',
      };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { code: errorCodes.uriTooLong, detail: 'A path segment of the URL is too long; ids and uids have at most 256 characters.' };
    default:
      if (error instanceof SyntaxError) {
        return { code: errorCodes.badRequest, detail: `Request body is not valid JSON: ${error.message}` };
      }
      return { code: statusCode === 404 ? errorCodes.notFound : errorCodes.badRequest, detail: error.message };
  }
}
