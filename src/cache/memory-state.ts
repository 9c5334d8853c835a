import type { SharedState } from './contract.js';

interface Entry {
  value: string;
  /** Milliseconds since the epoch, or Infinity. */
  expiresAt: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Shared state in this process's memory, for the embedded mode, which runs one process. */
export class MemoryState implements SharedState {
  readonly driver = 'memory';

  private readonly entries = new Map<string, Entry>();
  private readonly buckets = new Map<string, Bucket>();
  private sweepCountdown = 1_000;

  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<string | undefined> {
    return this.live(key)?.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.write(key, value, ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) {
      return false;
    }
    this.write(key, value, ttlMs);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
    this.buckets.delete(key);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    const entry = this.live(key);
    const current = entry ? Number.parseInt(entry.value, 10) : 0;
    const next = (Number.isNaN(current) ? 0 : current) + by;
    if (entry) {
      entry.value = String(next);
    } else {
      this.write(key, String(next), ttlMs);
    }
    return next;
  }

  async takeToken(key: string, ratePerSecond: number, burst: number): Promise<number> {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedAt: now };
    const refilled = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerSecond);
    if (refilled >= 1) {
      this.buckets.set(key, { tokens: refilled - 1, updatedAt: now });
      return 0;
    }
    this.buckets.set(key, { tokens: refilled, updatedAt: now });
    return Math.ceil(((1 - refilled) / ratePerSecond) * 1000);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
    this.buckets.clear();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private write(key: string, value: string, ttlMs: number | undefined): void {
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : this.now() + ttlMs });
    this.sweepCountdown -= 1;
    if (this.sweepCountdown <= 0) {
      this.sweep();
    }
  }

  /** Drops expired entries now and then, so keys that are never read again do not pile up. */
  private sweep(): void {
    this.sweepCountdown = 1_000;
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.entries.delete(key);
      }
    }
  }
}
