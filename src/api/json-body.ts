import type { FastifyInstance } from 'fastify';
import { errorCodes, HttpError } from './errors.js';

/**
 * Maximum nesting of objects and arrays in a request body. Much deeper bodies overflow
 * the stack of the recursive JSON.stringify that stores payloads. 128 is the default
 * recursion limit of serde_json (its RecursionLimitExceeded error), the Svix server's parser.
 */
export const maxJsonDepth = 128;

/** Tells whether JSON text nests objects and arrays deeper than `limit`, without parsing it. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text.charCodeAt(index);
    if (inString) {
      if (character === 0x5c) {
        // A backslash escapes the next character, which may be a quote.
        index += 1;
      } else if (character === 0x22) {
        inString = false;
      }
      continue;
    }
    if (character === 0x22) {
      inString = true;
    } else if (character === 0x7b || character === 0x5b) {
      depth += 1;
      if (depth > limit) {
        return true;
      }
    } else if (character === 0x7d || character === 0x5d) {
      depth -= 1;
    }
  }
  return false;
}

function describeParseFailure(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return `Request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`;
  }
  // Native JSON.parse accepted the text, so Fastify's parser rejected it for a key that
  // could change the prototype of objects built from it.
  return 'Request body contains a "__proto__" key, or a "constructor" key with "prototype" inside, which are rejected because they can change object prototypes; rename the key.';
}

/**
 * Registers the only body parser of the API: JSON, with a depth limit and errors that name
 * the problem. Other content types, text/plain included, get 415.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const parseSafely = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('text/plain');

  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');

    // An empty body is allowed with a JSON content type, because clients send one on
    // POST routes that take no body (resend, secret rotation).
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    if (nestsDeeperThan(text, maxJsonDepth)) {
      const detail = `Request body nests objects and arrays more than ${maxJsonDepth} levels deep; flatten the JSON.`;
      done(new HttpError(400, errorCodes.badRequest, detail), undefined);
      return;
    }

    parseSafely(request, text, (error, value) => {
      if (error) {
        done(new HttpError(400, errorCodes.badRequest, describeParseFailure(text)), undefined);
        return;
      }
      done(null, value);
    });
  });
}
