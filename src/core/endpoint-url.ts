import { ValidationError } from './errors.js';

/**
 * Checks an endpoint URL when it is created or changed: http or https, a host, no
 * credentials, at most 64 KiB. Whether its address may be reached is decided at each
 * attempt, after DNS resolution, by the delivery client.
 */
export function validateEndpointUrl(text: string, loc: string[] = ['body', 'url']): string {
  if (text.length > 65_536) {
    throw ValidationError.field(loc, 'URL is longer than 65536 characters.', 'value_error.any_str.max_length');
  }

  // The URL parser silently drops tabs and line breaks, so the stored text and the
  // address that deliveries go to would differ.
  // eslint-disable-next-line no-control-regex -- control characters are what this rejects
  if (/[\0-\x1f\x7f]/.test(text)) {
    throw ValidationError.field(loc, 'URL contains a control character such as a line break or tab; remove it or percent-encode it.', 'value_error.url');
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw ValidationError.field(loc, `"${text}" is not a valid URL; expected an absolute http or https URL.`, 'value_error.url');
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ValidationError.field(loc, `URL scheme "${url.protocol.replace(/:$/, '')}" is not supported; use http or https.`, 'value_error.url.scheme');
  }
  if (url.username !== '' || url.password !== '') {
    throw ValidationError.field(
      loc,
      'URL must not contain credentials; send them in a custom header such as Authorization instead.',
      'value_error.url.credentials',
    );
  }
  if (url.hostname === '') {
    throw ValidationError.field(loc, 'URL has no host.', 'value_error.url.host');
  }
  return text;
}
