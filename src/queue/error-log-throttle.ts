import type { Logger } from 'pino';

interface Seen {
  firstAt: number;
  repeated: number;
}

/**
 * Logs an error the first time it occurs and then at most once per window, with the number
 * of repeats since the last line. Errors are told apart by the log message and the error's
 * own message, so a failure with another message is not hidden behind a repeated one.
 */
export class ErrorLogThrottle {
  private readonly logger: Logger;
  private readonly windowMs: number;
  private readonly seen = new Map<string, Seen>();

  constructor(logger: Logger, windowMs = 10_000) {
    this.logger = logger;
    this.windowMs = windowMs;
  }

  error(fields: Record<string, unknown>, error: unknown, message: string): void {
    const now = Date.now();
    const key = `${message}\u0000${error instanceof Error ? error.message : String(error)}`;
    const seen = this.seen.get(key);

    if (seen && now - seen.firstAt < this.windowMs) {
      seen.repeated += 1;
      return;
    }

    const repeated = seen?.repeated ?? 0;
    this.forgetOldEntries(now);
    this.seen.set(key, { firstAt: now, repeated: 0 });
    this.logger.error({ ...fields, err: error, ...(repeated > 0 ? { repeated } : {}) }, message);
  }

  /** Keeps the map small when many different errors occur, such as one per job id. */
  private forgetOldEntries(now: number): void {
    if (this.seen.size < 100) {
      return;
    }
    for (const [key, seen] of this.seen) {
      if (now - seen.firstAt >= this.windowMs) {
        this.seen.delete(key);
      }
    }
  }
}
