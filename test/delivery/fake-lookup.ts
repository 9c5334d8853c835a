import type { LookupAddress } from 'node:dns';
import type { LookupAllFunction } from '../../src/delivery/guarded-lookup.js';

/**
 * Creates a DNS lookup that resolves names from a table, so tests never query real DNS.
 * Names missing from the table fail with ENOTFOUND, as an unknown name does.
 */
export function fakeLookup(table: Readonly<Record<string, readonly string[]>>): LookupAllFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup: LookupAllFunction = (hostname, _options, callback) => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (addresses === undefined) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
      queueMicrotask(() => callback(error, []));
      return;
    }
    const entries: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    queueMicrotask(() => callback(null, entries));
  };
  return Object.assign(lookup, { calls });
}
