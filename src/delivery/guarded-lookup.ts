import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AddressDecision, AddressPolicy } from './address-policy.js';

/**
 * A DNS lookup with node:dns `lookup`'s callback signature, called with `{ all: true }`.
 * Tests inject one so that they never query real DNS.
 */
export type LookupAllFunction = (
  hostname: string,
  options: { all: true },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** Error for a delivery to an address that the address policy blocks. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'ERR_HOOKLINE_BLOCKED_ADDRESS';

  constructor(
    readonly hostname: string,
    readonly decision: AddressDecision,
  ) {
    super(describeBlockedAddress(hostname, decision));
  }
}

/** Describes why a delivery to `hostname` was blocked, naming the address and its range. */
export function describeBlockedAddress(hostname: string, decision: AddressDecision): string {
  const target = hostname === decision.address ? decision.address : `${hostname} (${decision.address})`;
  const problem = decision.range === 'invalid' ? 'is not a valid IP address' : `is in the ${decision.range} range`;
  return `Blocked delivery to ${target}: the address ${problem}. Deliveries go only to public unicast addresses and to allowed CIDR ranges.`;
}

// The default lookup uses the system resolver (getaddrinfo), which may also read /etc/hosts.
const systemLookup: LookupAllFunction = (hostname, options, callback) => {
  dnsLookup(hostname, options, callback);
};

function requestedFamily(options: LookupOptions): 0 | 4 | 6 {
  if (options.family === 4 || options.family === 'IPv4') {
    return 4;
  }
  if (options.family === 6 || options.family === 'IPv6') {
    return 6;
  }
  return 0;
}

function notFoundError(hostname: string, family: 0 | 4 | 6): NodeJS.ErrnoException {
  const suffix = family === 0 ? '' : ` of IPv${family}`;
  return Object.assign(new Error(`DNS lookup of ${hostname} returned no addresses${suffix}.`), {
    code: 'ENOTFOUND',
    hostname,
  });
}

/**
 * Creates the lookup that the HTTP client connects through. It resolves the host name,
 * checks every resolved address against the policy and fails with BlockedAddressError
 * if any one is blocked. Otherwise it hands exactly the checked addresses to the socket,
 * so the address connected to is always one that passed the check, even if the name
 * resolves differently a moment later (DNS rebinding).
 */
export function createGuardedLookup(
  policy: AddressPolicy,
  lookup: LookupAllFunction = systemLookup,
): LookupFunction {
  return (hostname, options, callback) => {
    const family = requestedFamily(options);

    const onResolved = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void => {
      if (error) {
        callback(error, '');
        return;
      }

      for (const { address } of addresses) {
        const decision = policy.classify(address);
        if (!decision.allowed) {
          callback(new BlockedAddressError(hostname, decision), '');
          return;
        }
      }

      const usable = addresses.filter((entry) => family === 0 || entry.family === family);
      const first = usable[0];
      if (first === undefined) {
        callback(notFoundError(hostname, family), '');
        return;
      }
      if (options.all === true) {
        callback(null, usable);
      } else {
        callback(null, first.address, first.family);
      }
    };

    let called = false;
    try {
      lookup(hostname, { all: true }, (error, addresses) => {
        called = true;
        onResolved(error, addresses);
      });
    } catch (error) {
      // A lookup that throws before calling back still fails this connection attempt.
      if (!called) {
        callback(error as NodeJS.ErrnoException, '');
      }
    }
  };
}
