import type { SharedState } from '../cache/contract.js';

export interface EndpointPacingOptions {
  state: SharedState;
  clock: () => number;
  /** Attempts to one endpoint that this process runs at the same time. */
  endpointConcurrency: number;
}

/**
 * Keeps each endpoint at its own pace without holding worker slots: the rate limit
 * (`throttleRate`, a token bucket in the shared state, so it holds across every worker),
 * the slow-down that a 429, 502, 503 or 504 asked for, and a cap on this process's
 * attempts in flight to one endpoint. Each check returns a time to postpone to, and the
 * attempt handler hands the job back to the queue for that time instead of waiting.
 */
export class EndpointPacing {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly options: EndpointPacingOptions) {}

  /** Time until which the endpoint asked to be left alone, or undefined. */
  async slowedUntil(endpointId: string): Promise<number | undefined> {
    const text = await this.options.state.get(this.slowKey(endpointId));
    const until = text === undefined ? Number.NaN : Number(text);
    return Number.isFinite(until) && until > this.options.clock() ? until : undefined;
  }

  /** Holds back every delivery to the endpoint until `until`, unless a later time is already set. */
  async slowDown(endpointId: string, until: number): Promise<void> {
    const current = await this.slowedUntil(endpointId);
    if (current !== undefined && current >= until) {
      return;
    }
    const ttlMs = Math.max(1, until - this.options.clock());
    await this.options.state.set(this.slowKey(endpointId), String(until), ttlMs);
  }

  /**
   * Takes one send from the endpoint's rate limit of `ratePerSecond` messages per second.
   * Returns 0 when the attempt may go now, else the milliseconds until it may.
   */
  async takeToken(endpointId: string, ratePerSecond: number): Promise<number> {
    // A burst of one second's worth lets a quiet endpoint take a short spike at once.
    return this.options.state.takeToken(`throttle:${endpointId}`, ratePerSecond, Math.max(1, ratePerSecond));
  }

  /** Claims an in-flight slot of the endpoint in this process; false when all are taken. */
  tryEnter(endpointId: string): boolean {
    const current = this.inFlight.get(endpointId) ?? 0;
    if (current >= this.options.endpointConcurrency) {
      return false;
    }
    this.inFlight.set(endpointId, current + 1);
    return true;
  }

  leave(endpointId: string): void {
    const current = this.inFlight.get(endpointId) ?? 0;
    if (current <= 1) {
      this.inFlight.delete(endpointId);
    } else {
      this.inFlight.set(endpointId, current - 1);
    }
  }

  async reset(endpointId: string): Promise<void> {
    await this.options.state.delete(this.slowKey(endpointId));
  }

  private slowKey(endpointId: string): string {
    return `slow:${endpointId}`;
  }
}
