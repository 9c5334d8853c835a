/**
 * State that every process of one installation must agree on, such as circuit breaker
 * state, rate limit counters and short-lived locks. Redis keeps it in the scaled mode; the
 * embedded mode, which runs one process, keeps it in memory. Both drivers pass the same
 * conformance suite. Keys are plain strings; values are strings; TTLs are milliseconds.
 */
export interface SharedState {
  readonly driver: 'memory' | 'redis';

  get(key: string): Promise<string | undefined>;

  /** Sets a value, replacing any other; with `ttlMs`, the key disappears after that time. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;

  /**
   * Sets a value only if the key does not exist, and returns whether it did. This is the
   * building block of a lock, such as "one probe at a time" of a circuit breaker.
   */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;

  /** Deletes a key. Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;

  /**
   * Adds `by` to an integer counter and returns the new value. A new counter starts at 0
   * and gets `ttlMs`; an existing counter keeps its expiry, so this counts per fixed window.
   */
  increment(key: string, by: number, ttlMs: number): Promise<number>;

  /**
   * Takes one token from a token bucket that refills at `ratePerSecond` and contains at most
   * `burst` tokens. Returns 0 when a token was taken, else the milliseconds until one will be.
   * All processes share the bucket, so the rate applies across every worker.
   */
  takeToken(key: string, ratePerSecond: number, burst: number): Promise<number>;

  /** Checks that the backend responds, and throws when it does not. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
