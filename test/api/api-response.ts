import assert from 'node:assert/strict';

/** A response as the API sent it: status, content type, raw text and the parsed JSON, if any. */
export interface ApiResponse {
  status: number;
  contentType: string;
  text: string;
  body: any;
}

export interface SendOptions {
  /** Raw body text or bytes; sent with `application/json` unless `headers` set another content type. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Bearer token; undefined sends no Authorization header. */
  token?: string;
}

/** Sends one request with exactly the given headers and body text. */
export async function send(baseUrl: string, method: string, path: string, options: SendOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) {
    headers.authorization = `Bearer ${options.token}`;
  }
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, options.headers);

  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: options.body });
  // An event stream does not end by itself, so its headers are the whole response here.
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: '', body: undefined };
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, body };
}

/** Locations that the first `loc` entry of a 422 item may name. */
export const problemLocations = ['body', 'query', 'path'];

/**
 * Asserts that a response is not a server error and, when it is an error, that it has one
 * of the API's two JSON error shapes: `{code, detail}`, or `{detail: [{loc, msg, type}]}`
 * for 422 with `loc` starting at body, query or path.
 */
export function assertWellFormed(response: ApiResponse, context: string): void {
  assert.ok(response.status < 500, `${context}: status ${response.status} ${response.text.slice(0, 300)}`);
  if (response.status < 400) {
    return;
  }

  assert.match(response.contentType, /^application\/json/, `${context}: content type ${response.contentType}`);
  assert.equal(typeof response.body, 'object', `${context}: body is not JSON: ${response.text.slice(0, 300)}`);
  assert.notEqual(response.body, null, `${context}: body is null`);

  if (response.status === 422) {
    assert.ok(Array.isArray(response.body.detail), `${context}: 422 detail is not a list: ${response.text.slice(0, 300)}`);
    assert.ok(response.body.detail.length > 0, `${context}: 422 detail is empty`);
    for (const item of response.body.detail) {
      assert.ok(Array.isArray(item.loc), `${context}: 422 item without loc: ${JSON.stringify(item)}`);
      assert.ok(problemLocations.includes(item.loc[0]), `${context}: 422 loc starts with ${JSON.stringify(item.loc[0])}`);
      assert.equal(typeof item.msg, 'string', `${context}: 422 item without msg: ${JSON.stringify(item)}`);
      assert.ok(item.msg.length > 0, `${context}: 422 item with empty msg`);
      assert.equal(typeof item.type, 'string', `${context}: 422 item without type: ${JSON.stringify(item)}`);
    }
    return;
  }

  assert.equal(typeof response.body.code, 'string', `${context}: error without code: ${response.text.slice(0, 300)}`);
  assert.equal(typeof response.body.detail, 'string', `${context}: error without detail: ${response.text.slice(0, 300)}`);
  assert.ok(response.body.detail.length > 0, `${context}: error with empty detail`);
}
