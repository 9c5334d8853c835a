import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Address of the API when neither --url nor HOOKLINE_URL is set. */
export const defaultApiUrl = 'http://127.0.0.1:8071';

/** A usage error: the command prints it with its help and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failed API call, with the status and the API's error detail. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/** Base URL and bearer token of API calls. */
export interface ApiTarget {
  /** Base URL without a trailing slash, such as `http://127.0.0.1:8071`. */
  url: string;
  token: string;
}

/** Help lines of the options that every command calling the API takes. */
export const apiOptionsHelp = `  --url URL          Base URL of the Hookline API. Default: HOOKLINE_URL, else ${defaultApiUrl}.
  --token TOKEN      Bearer token: the admin token or an application token. Default: HOOKLINE_TOKEN,
                     else HOOKLINE_ADMIN_TOKEN, else the file admin-token in HOOKLINE_DATA_DIR (./data).`;

/** Returns the base URL from `--url`, HOOKLINE_URL or the default, checked and without a trailing slash. */
export function resolveApiUrl(option: string | undefined, environment: NodeJS.ProcessEnv): string {
  const text = option ?? environment.HOOKLINE_URL ?? defaultApiUrl;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`Invalid --url "${text}": expected a URL such as ${defaultApiUrl}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Invalid --url "${text}": expected http:// or https://.`);
  }
  return text.replace(/\/+$/, '');
}

/**
 * Returns the token from `--token`, HOOKLINE_TOKEN, HOOKLINE_ADMIN_TOKEN, or the admin token
 * file that `hookline start` writes in the data folder.
 */
export function resolveToken(option: string | undefined, environment: NodeJS.ProcessEnv): string {
  const given = option ?? environment.HOOKLINE_TOKEN ?? environment.HOOKLINE_ADMIN_TOKEN;
  if (given !== undefined && given !== '') {
    return given;
  }
  const file = join(resolve(environment.HOOKLINE_DATA_DIR ?? 'data'), 'admin-token');
  if (existsSync(file)) {
    return readFileSync(file, 'utf8').trim();
  }
  throw new UsageError(
    `Missing token: pass --token, set HOOKLINE_TOKEN, or run this where ${file} exists (hookline start writes the admin token there).`,
  );
}

/**
 * Sends a JSON request to the API and returns the parsed body. Throws ApiCallError with the
 * API's detail for a 4xx or 5xx, and an Error naming the URL when the server cannot be reached.
 */
export async function callApi<T>(target: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  const url = `${target.url}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new Error(`Could not reach ${url}: ${describeFetchError(error)}. Is Hookline running there? Set --url or HOOKLINE_URL.`);
  }

  const text = await response.text();
  if (!response.ok) {
    throw new ApiCallError(response.status, `${method} ${path} failed with ${response.status}: ${describeApiError(text)}`);
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Returns the API's error detail as one line. */
export function describeApiError(text: string): string {
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    if (typeof body.detail === 'string') {
      return body.detail;
    }
    if (Array.isArray(body.detail)) {
      return body.detail
        .map((item: { loc?: string[]; msg?: string }) => `${(item.loc ?? []).join('.')}: ${item.msg ?? ''}`)
        .join('; ');
    }
  } catch {
    // Not JSON: shown as it is.
  }
  return text.slice(0, 500);
}

/** Returns the most specific message of a fetch failure, such as "connect ECONNREFUSED 127.0.0.1:8071". */
export function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error && cause.message !== '') {
      return cause.message;
    }
    return error.message;
  }
  return String(error);
}
