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
  const hostProblem = findHostProblem(url.hostname);
  if (hostProblem !== undefined) {
    throw ValidationError.field(loc, `URL host "${url.hostname}" is invalid: ${hostProblem}`, 'value_error.url.host');
  }
  return text;
}

// A DNS label as RFC 1123 allows it, plus "_", which some providers use in host names.
const dnsLabel = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Checks a host that the URL parser accepted. The parser has already written every IPv4
 * notation as dotted decimal, put IPv6 in brackets and turned international names into
 * punycode, so what remains must be an IP address or a DNS name.
 */
function findHostProblem(hostname: string): string | undefined {
  if (hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(hostname)) {
    return undefined;
  }
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (name.length > 253) {
    return 'a host name has at most 253 characters.';
  }
  for (const label of name.split('.')) {
    if (label === '') {
      return 'the host name has an empty label (two dots in a row, or a leading dot).';
    }
    if (!dnsLabel.test(label)) {
      return `the label "${label}" is not a DNS label: use 1 to 63 letters, digits, "-" or "_", not starting or ending with "-".`;
    }
  }
  return undefined;
}
