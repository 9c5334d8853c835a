import { randomBytes } from 'node:crypto';

/** Prefixes of Hookline's typed ids, as the Svix API has them. */
export type IdPrefix = 'app' | 'ep' | 'msg' | 'atmpt' | 'dlv' | 'sec' | 'tok' | 'trap' | 'task';

// Lower-case Crockford base32: its order is the same in byte order and in every
// collation PostgreSQL uses, so ids sort by creation time on both stores.
const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = 0;
const lastRandom = new Uint8Array(10);

function encode(bytes: Uint8Array): string {
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      output += alphabet[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) {
    output += alphabet[(buffer << (5 - bits)) & 31];
  }
  return output;
}

function incrementRandom(): boolean {
  for (let index = lastRandom.length - 1; index >= 0; index -= 1) {
    const next = (lastRandom[index] ?? 0) + 1;
    lastRandom[index] = next & 0xff;
    if (next <= 0xff) {
      return true;
    }
  }
  return false;
}

/**
 * Creates an id such as `msg_01jf8x…`: a 48-bit millisecond time and 80 random bits in base32.
 * Ids made by one process are strictly increasing, even within one millisecond, so lists
 * can page by id and the pull API can resume after an id.
 */
export function createId(prefix: IdPrefix, now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    lastRandom.set(randomBytes(10));
  } else if (!incrementRandom()) {
    lastTime += 1;
    lastRandom.set(randomBytes(10));
  }

  const bytes = new Uint8Array(16);
  let time = lastTime;
  for (let index = 5; index >= 0; index -= 1) {
    bytes[index] = time % 256;
    time = Math.floor(time / 256);
  }
  bytes.set(lastRandom, 6);
  return `${prefix}_${encode(bytes)}`;
}

/** Tells whether `value` has the shape of an id with this prefix. */
export function isId(prefix: IdPrefix, value: string): boolean {
  return value.startsWith(`${prefix}_`) && /^[0-9a-z]{26}$/.test(value.slice(prefix.length + 1));
}
