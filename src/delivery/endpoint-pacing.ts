import type { SharedState } from '../cache/contract.js';

export interface EndpointPacingOptions {
  state: SharedState;
  clock: () => number;
  /**
   * Attempts that this process runs at the same time to one endpoint that has not yet
   * responded here, or whose latest attempt here timed out.
   */
  endpointConcurrency: number;
}

const MAX_IN_FLIGHT_ROUNDS = 10;

/**
 * Keeps each endpoint at its own pace without holding worker slots. Three limits apply.
 * The rate limit (`throttleRate`) is a token bucket in the shared state, so it applies
 * across every worker. A 429, 502, 503 or 504 can request a slow-down. And this process
 * caps its attempts in flight to an endpoint until it has responded, and again once it
 * times out. Each check returns a time to postpone to, and the attempt handler hands the
 * job back to the queue for that time instead of waiting.
 */
export class EndpointPacing {
  private readonly inFlight = new Map<string, number>();
  /** Endpoints whose latest finished attempt in this process got a response or failed fast. */
  private readonly responding = new Set<string>();
  /** Attempts per endpoint that found every in-flight slot taken, in the current second. */
  private readonly denials = new Map<string, { window: number; count: number }>();

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
   * Returns 0 when the attempt may go now, else how many milliseconds to postpone it.
   *
   * Postponing every denied attempt to the next free token would wake all of an
   * endpoint's backlog at once, again and again. So each denial within one second is
   * also counted across workers, and the n-th denied attempt waits about n / rate
   * seconds longer: the backlog comes back spread out, close to the rate it may go at.
   */
  async takeToken(endpointId: string, ratePerSecond: number): Promise<number> {
    // A burst of one second's worth lets a quiet endpoint take a short spike at once.
    const waitMs = await this.options.state.takeToken(`throttle:${endpointId}`, ratePerSecond, Math.max(1, ratePerSecond));
    if (waitMs === 0) {
      return 0;
    }
    const window = Math.floor(this.options.clock() / 1_000);
    const denied = await this.options.state.increment(`throttle-denied:${endpointId}:${window}`, 1, 2_000);
    const backlogMs = ((denied - 1) / ratePerSecond) * 1_000;
    return Math.ceil(waitMs + backlogMs + Math.random() * (1_000 / ratePerSecond));
  }

  /**
   * Milliseconds to postpone an attempt that found the endpoint's in-flight slots taken.
   * Like the rate limit, later denials within one second wait longer, up to 10 rounds of
   * `baseMs`. So a large backlog of a hanging endpoint does not wake every 100 ms as a
   * whole, and does not wait long after its slots are free again.
   */
  inFlightDelay(endpointId: string, baseMs: number): number {
    const window = Math.floor(this.options.clock() / 1_000);
    const current = this.denials.get(endpointId);
    const denied = current !== undefined && current.window === window ? current.count + 1 : 1;
    this.denials.set(endpointId, { window, count: denied });
    if (this.denials.size > 10_000) {
      this.dropOldDenials(window);
    }
    const rounds = Math.min(MAX_IN_FLIGHT_ROUNDS, Math.ceil(denied / this.options.endpointConcurrency));
    return Math.ceil(baseMs * rounds * (1 + Math.random()));
  }

  /**
   * Claims an in-flight slot of the endpoint in this process, and returns false when all its
   * slots are taken. Only an endpoint that has not responded in this process yet, or whose
   * latest attempt here timed out, is capped. Its attempts may each take a worker slot for
   * the full request timeout, so a newly dead endpoint would otherwise fill every slot
   * before its first timeout. An endpoint that responds, even with errors, is not capped,
   * because a cap would only postpone a busy healthy endpoint over and over.
   */
  tryEnter(endpointId: string): boolean {
    const current = this.inFlight.get(endpointId) ?? 0;
    if (!this.responding.has(endpointId) && current >= this.options.endpointConcurrency) {
      return false;
    }
    this.inFlight.set(endpointId, current + 1);
    return true;
  }

  /** Records whether the endpoint's latest attempt in this process timed out. */
  recordResult(endpointId: string, timedOut: boolean): void {
    if (timedOut) {
      this.responding.delete(endpointId);
      return;
    }
    // Bounded, because deleted endpoints are never removed. Forgetting an endpoint only
    // caps it again until its next response.
    if (this.responding.size >= 100_000) {
      this.responding.clear();
    }
    this.responding.add(endpointId);
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

  private dropOldDenials(window: number): void {
    for (const [endpointId, entry] of this.denials) {
      if (entry.window !== window) {
        this.denials.delete(endpointId);
      }
    }
  }

  private slowKey(endpointId: string): string {
    return `slow:${endpointId}`;
  }
}
