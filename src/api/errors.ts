import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ServiceError, ValidationError, type FieldProblem } from '../core/errors.js';

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
  tooManyRequests: 'rate_limited',
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

/** Turns zod issues into Svix's 422 detail items, with `location` as the first loc entry. */
export function zodProblems(location: string, error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    loc: [location, ...issue.path.map(String)],
    msg: issueMessage(issue),
    type: issueType(issue),
  }));
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return 'field required';
  }
  return issue.message;
}

function issueType(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? 'value_error.missing' : `type_error.${issue.expected}`;
  }
  return `value_error.${issue.code}`;
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
    const { code, detail } = describeFrameworkError(fastifyError, statusCode);
    request.log.info({ statusCode, code, fastifyCode: fastifyError.code }, `Request rejected: ${detail}`);
    void reply.status(statusCode).send({ code, detail });
    return;
  }

  request.log.error({ err: error }, 'Request failed');
  void reply.status(500).send({ code: errorCodes.internal, detail: 'Internal error; the server log has the details.' });
}

function describeFrameworkError(error: FastifyError, statusCode: number): { code: string; detail: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: errorCodes.payloadTooLarge, detail: 'Request body is larger than the limit (HOOKLINE_MAX_PAYLOAD_SIZE).' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: errorCodes.unsupportedMediaType, detail: 'Unsupported content type; send application/json.' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: errorCodes.badRequest, detail: 'Request body is empty; send a JSON object.' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: errorCodes.badRequest, detail: `Request body is not valid JSON: ${error.message}` };
    default:
      if (error instanceof SyntaxError) {
        return { code: errorCodes.badRequest, detail: `Request body is not valid JSON: ${error.message}` };
      }
      return { code: statusCode === 404 ? errorCodes.notFound : errorCodes.badRequest, detail: error.message };
  }
}
