/** One problem with a request field, in the shape of Svix's 422 `detail` items. */
export interface FieldProblem {
  /** Path to the field, such as `['body', 'url']`. */
  loc: string[];
  msg: string;
  type: string;
}

/** Base class of errors that the API turns into 4xx responses. */
export abstract class ServiceError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: string;
}

export class NotFoundError extends ServiceError {
  readonly statusCode = 404;
  readonly code = 'not_found';

  /** `what` names the kind of thing, such as "Endpoint", and `id` is the id or uid that was looked up. */
  constructor(what: string, id?: string) {
    super(id === undefined ? `${what} not found.` : `${what} ${JSON.stringify(id)} not found.`);
    this.name = 'NotFoundError';
  }
}

/** A request that the API rejects with 400 and the code `bad_request`, such as one that names a trap that does not exist. */
export class BadRequestError extends ServiceError {
  readonly statusCode = 400;
  readonly code = 'bad_request';

  constructor(detail: string) {
    super(detail);
    this.name = 'BadRequestError';
  }
}

export class ConflictError extends ServiceError {
  readonly statusCode = 409;
  readonly code = 'conflict';

  constructor(detail: string) {
    super(detail);
    this.name = 'ConflictError';
  }
}

/** Invalid input that passed the schema but breaks a rule, returned as 422. */
export class ValidationError extends ServiceError {
  readonly statusCode = 422;
  readonly code = 'validation';

  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((problem) => `${problem.loc.join('.')}: ${problem.msg}`).join('; '));
    this.name = 'ValidationError';
  }

  static field(loc: string[], msg: string, type = 'value_error'): ValidationError {
    return new ValidationError([{ loc, msg, type }]);
  }
}
