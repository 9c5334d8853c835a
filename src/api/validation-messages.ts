import type { z } from 'zod';
import type { FieldProblem } from '../core/errors.js';

type Issue = z.core.$ZodIssue;

/** Maximum number of characters of a rejected string that a message quotes. */
const maxQuotedLength = 60;

const rootLabels: Record<string, string> = { body: 'Request body', query: 'Query string', path: 'Path' };

const expectedPhrases: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'an array',
  null: 'null',
};

function fieldLabel(location: string, path: readonly PropertyKey[]): string {
  if (path.length === 0) {
    return rootLabels[location] ?? location;
  }
  let label = '';
  for (const key of path) {
    if (typeof key === 'number') {
      label += `[${key}]`;
    } else {
      label += label === '' ? String(key) : `.${String(key)}`;
    }
  }
  return label;
}

/** Describes a rejected value for a message, quoting at most the start of a long string. */
export function describeValue(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  switch (typeof value) {
    case 'string':
      return value.length > maxQuotedLength ? `${JSON.stringify(value.slice(0, maxQuotedLength))}…` : JSON.stringify(value);
    case 'number':
      return Number.isNaN(value) ? 'a value that is not a number' : `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** Fields whose values are signing secrets, which messages and the log lines quoting them must not repeat. */
const secretFields = new Set(['secret', 'key']);

function describeReceived(path: readonly PropertyKey[], received: unknown): string {
  const field = path[path.length - 1];
  if (typeof received === 'string' && typeof field === 'string' && secretFields.has(field)) {
    return `a string of ${received.length} characters`;
  }
  return describeValue(received);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) {
      return undefined;
    }
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

// Schemas in schemas.ts write their own messages as the rest of a sentence whose subject
// is the field ("may contain only …", "must be …"), so they read after the field name.
function isCustomMessage(message: string): boolean {
  return message.startsWith('must ') || message.startsWith('may ');
}

function sizeMessage(issue: Issue & { code: 'too_small' | 'too_big' }, label: string, received: unknown, shown: string): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  let bound: string;
  if (small) {
    bound = issue.inclusive === false ? 'more than' : 'at least';
  } else {
    bound = issue.inclusive === false ? 'less than' : 'at most';
  }

  switch (issue.origin) {
    case 'string': {
      if (small && limit === 1) {
        return `${label} must not be empty.`;
      }
      const length = typeof received === 'string' ? `; received ${received.length} characters` : '';
      return `${label} must be ${bound} ${limit} characters long${length}.`;
    }
    case 'array':
    case 'set': {
      if (isCustomMessage(issue.message)) {
        return `${label} ${issue.message}.`;
      }
      const count = Array.isArray(received) ? `; received ${received.length}` : '';
      return `${label} must have ${bound} ${limit} ${limit === 1 ? 'item' : 'items'}${count}.`;
    }
    default:
      return `${label} must be ${bound} ${limit}; received ${shown}.`;
  }
}

/**
 * Writes a sentence that names the field, the problem with its value and what is
 * expected. `received` is the value as the client sent it, before coercion.
 */
export function issueMessage(location: string, issue: Issue, received: unknown): string {
  const label = fieldLabel(location, issue.path);
  const shown = describeReceived(issue.path, received);
  if (issue.code === 'invalid_union' && received === undefined) {
    return `${label} is required.`;
  }
  switch (issue.code) {
    case 'invalid_type':
      if (received === undefined) {
        return issue.path.length === 0 && location === 'body' ? 'Request body is required; send a JSON object.' : `${label} is required.`;
      }
      return `${label} must be ${expectedPhrases[issue.expected] ?? issue.expected}; received ${shown}.`;
    case 'too_small':
    case 'too_big':
      return sizeMessage(issue, label, received, shown);
    case 'invalid_format':
      if (isCustomMessage(issue.message)) {
        return `${label} ${issue.message}; received ${shown}.`;
      }
      if (issue.format === 'datetime') {
        return `${label} must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z; received ${shown}.`;
      }
      return `${label} is not a valid ${issue.format}; received ${shown}.`;
    case 'invalid_value':
      if (isCustomMessage(issue.message)) {
        return `${label} ${issue.message}; received ${shown}.`;
      }
      return `${label} must be one of ${issue.values.map((value) => (typeof value === 'string' ? JSON.stringify(value) : String(value))).join(', ')}; received ${shown}.`;
    default:
      if (isCustomMessage(issue.message)) {
        return `${label} ${issue.message}.`;
      }
      return `${label} is invalid: ${issue.message}.`;
  }
}

function issueType(issue: Issue, received: unknown): string {
  if (issue.code === 'invalid_union' && received === undefined) {
    return 'value_error.missing';
  }
  if (issue.code === 'invalid_type') {
    return received === undefined ? 'value_error.missing' : `type_error.${issue.expected}`;
  }
  return `value_error.${issue.code}`;
}

// z.number().int() also checks the safe-integer range. For a huge number that issue comes
// beside the field's own bound and only adds noise, so it is dropped when the field has another.
function repeatsFieldBound(issue: Issue, all: readonly Issue[]): boolean {
  const safeRange =
    (issue.code === 'too_big' && Number(issue.maximum) === Number.MAX_SAFE_INTEGER) ||
    (issue.code === 'too_small' && Number(issue.minimum) === Number.MIN_SAFE_INTEGER);
  if (!safeRange) {
    return false;
  }
  const path = issue.path.map(String).join('.');
  return all.some((other) => other !== issue && other.path.map(String).join('.') === path);
}

/**
 * Turns zod issues into Svix's 422 detail items, with `location` (body, query or path) as
 * the first `loc` entry. `input` is the value that was parsed, so messages can quote it.
 */
export function zodProblems(location: string, error: z.ZodError, input: unknown): FieldProblem[] {
  const issues = error.issues.filter((issue) => !repeatsFieldBound(issue, error.issues));
  return issues.map((issue) => {
    // Coercion turns a query value such as "abc" into NaN, so the message quotes the
    // value as the client sent it instead.
    const coercedAway = typeof issue.input === 'number' && Number.isNaN(issue.input);
    const received = issue.input === undefined || coercedAway ? valueAt(input, issue.path) : issue.input;
    return {
      loc: [location, ...issue.path.map(String)],
      msg: issueMessage(location, issue, received),
      type: issueType(issue, received),
    };
  });
}
