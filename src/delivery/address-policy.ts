import ipaddr from 'ipaddr.js';

/** Decision on one IP address that a webhook would be sent to. */
export interface AddressDecision {
  /** Whether a connection to this address is allowed. */
  allowed: boolean;
  /** The judged address, normalized. IPv4-mapped and NAT64 forms are judged as their IPv4 address. */
  address: string;
  /**
   * Range the address falls in: `unicast` for public addresses, otherwise the ipaddr.js
   * range name (`loopback`, `private`, `linkLocal`, `uniqueLocal`, …), `ipv4Compatible`,
   * `unassigned` or `invalid`.
   */
  range: string;
  /** The allowed CIDR range that let a non-public address through. */
  allowedBy?: string;
}

/** Classifies addresses against the public-only rule and the operator's allowed ranges. */
export interface AddressPolicy {
  classify(address: string): AddressDecision;
}

type ParsedRange = { text: string; range: [ipaddr.IPv4 | ipaddr.IPv6, number] };

// ::/96 held IPv4-compatible addresses, deprecated by RFC 4291. ipaddr.js calls them
// unicast, but a stack that still honours them reaches the embedded IPv4 address.
const ipv4Compatible = ipaddr.parseCIDR('::/96');
// The well-known NAT64 prefix of RFC 6052 embeds an IPv4 address in its last 32 bits.
const nat64WellKnown = ipaddr.parseCIDR('64:ff9b::/96');
// All IPv6 global unicast addresses lie in 2000::/3 (RFC 4291), so the rest is unassigned.
const globalUnicast = ipaddr.parseCIDR('2000::/3');

// ipaddr.js 2.5 reads the deprecated IPv4-compatible form ::a.b.c.d as the IPv4-mapped
// ::ffff:a.b.c.d. IPv6 text with a dotted IPv4 tail is therefore first rewritten in hex
// by the WHATWG URL host parser, which keeps the two apart.
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1');
  let normalized = bare;
  if (bare.includes(':') && bare.includes('.')) {
    try {
      normalized = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }

  try {
    return ipaddr.parse(normalized);
  } catch {
    return undefined;
  }
}

function parseAllowedRange(text: string): ParsedRange {
  try {
    return { text, range: ipaddr.parseCIDR(text.trim()) };
  } catch {
    throw new RangeError(`Invalid allowed CIDR range "${text}": expected a range such as 127.0.0.0/8 or ::1/128.`);
  }
}

function findAllowedRange(
  candidates: readonly (ipaddr.IPv4 | ipaddr.IPv6)[],
  allowed: readonly ParsedRange[],
): string | undefined {
  for (const candidate of candidates) {
    for (const { text, range } of allowed) {
      if (candidate.kind() === range[0].kind() && candidate.match(range)) {
        return text;
      }
    }
  }
  return undefined;
}

// Reduces an address to the one a connection would reach: IPv4-mapped and well-known
// NAT64 addresses carry an IPv4 address, which is judged instead.
function effectiveAddress(parsed: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (parsed instanceof ipaddr.IPv6) {
    if (parsed.isIPv4MappedAddress()) {
      return parsed.toIPv4Address();
    }
    if (parsed.match(nat64WellKnown)) {
      return ipaddr.fromByteArray(parsed.toByteArray().slice(12));
    }
  }
  return parsed;
}

function rangeOf(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  const range = address.range();
  if (address instanceof ipaddr.IPv6 && range === 'unicast') {
    if (address.match(ipv4Compatible)) {
      return 'ipv4Compatible';
    }
    if (!address.match(globalUnicast)) {
      return 'unassigned';
    }
  }
  return range;
}

/**
 * Creates a policy that allows only public unicast addresses, plus any address inside
 * `allowedCidrs`. Every other range is blocked: loopback, private, link-local (including
 * the 169.254.169.254 metadata address), unique-local, multicast, broadcast, reserved,
 * unspecified, carrier-grade NAT, benchmarking, 6to4, Teredo and the rest of ipaddr.js's
 * special ranges. Throws RangeError for an invalid CIDR range.
 */
export function createAddressPolicy(allowedCidrs: readonly string[] = []): AddressPolicy {
  const allowed = allowedCidrs.map(parseAllowedRange);

  return {
    classify(address: string): AddressDecision {
      const parsed = parseAddress(address);
      if (parsed === undefined) {
        return { allowed: false, address, range: 'invalid' };
      }

      const effective = effectiveAddress(parsed);
      const normalized = effective.toString();
      const range = rangeOf(effective);
      const allowedBy = findAllowedRange([parsed, effective], allowed);
      if (allowedBy !== undefined) {
        return { allowed: true, address: normalized, range, allowedBy };
      }
      return { allowed: range === 'unicast', address: normalized, range };
    },
  };
}

/**
 * Classifies one address, as createAddressPolicy(allowedCidrs).classify(address) does.
 * Build the policy once when classifying many addresses.
 */
export function classifyAddress(address: string, allowedCidrs: readonly string[] = []): AddressDecision {
  return createAddressPolicy(allowedCidrs).classify(address);
}
