import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { zodProblems } from './validation-messages.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Access level of a route: the admin token only, an application token for its own application too, or anyone. */
export type Access = 'admin' | 'application' | 'public';

export interface RouteDefinition<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** Path in Fastify's syntax, such as `/api/v1/app/:app_id`. */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Status of a successful response. */
  status: number;
  /** Schema of a successful response body, for the OpenAPI document. */
  response?: z.ZodType;
  /** Media type of a successful response that is not JSON, such as `text/event-stream`, for the OpenAPI document. */
  responseMediaType?: string;
  /** Accepts an `Idempotency-Key` header (POST routes that create something). */
  idempotent?: boolean;
  handler: (
    input: { params: z.output<P>; query: z.output<Q>; body: z.output<B>; request: FastifyRequest; reply: FastifyReply },
  ) => Promise<unknown>;
}

/** Every route defined through the table, for the OpenAPI document. */
export type RegisteredRoute = RouteDefinition<z.ZodType, z.ZodType, z.ZodType>;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    idempotent?: boolean;
  }
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, location: string): z.output<T> {
  if (!schema) {
    return undefined as z.output<T>;
  }
  // A JSON null body stays null, so the message reports a null body rather than a missing one.
  const input = location === 'body' ? value : (value ?? {});
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new ValidationError(zodProblems(location, result.error, input));
  }
  return result.data;
}

/** A handler result whose status differs from the route's usual one. */
export class WithStatus {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Registers routes on a Fastify instance and keeps them for the OpenAPI document. */
export class RouteTable {
  readonly routes: RegisteredRoute[] = [];

  constructor(private readonly app: FastifyInstance) {}

  define<P extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(
    definition: RouteDefinition<P, Q, B>,
  ): void {
    this.routes.push(definition as unknown as RegisteredRoute);
    this.app.route({
      method: definition.method,
      url: definition.url,
      config: { access: definition.access, idempotent: definition.idempotent ?? false },
      handler: async (request, reply) => {
        const params = parse(definition.params, request.params, 'path');
        const query = parse(definition.query, request.query, 'query');
        const body = parse(definition.body, request.body, 'body');
        const result = await definition.handler({ params, query, body, request, reply });
        // A handler that streams its response takes over the reply and has already sent it.
        if (reply.sent) {
          return reply;
        }
        if (definition.status === 204) {
          return reply.status(204).send();
        }
        if (result instanceof WithStatus) {
          return reply.status(result.status).send(result.body);
        }
        return reply.status(definition.status).send(result);
      },
    });
  }
}
