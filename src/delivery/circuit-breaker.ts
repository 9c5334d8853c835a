import type { SharedState } from '../cache/contract.js';
import type { Logger } from '../observability/logger.js';

export interface CircuitBreakerOptions {
  state: SharedState;
  logger: Logger;
  clock: () => number;
  /** Consecutive failures of an endpoint that open its breaker. */
  threshold: number;
  /** Wait in milliseconds between opening the breaker and the first probe. */
  cooldownMs: number;
  /** Maximum wait between probes. Each failed probe doubles the wait, up to this. */
  maxCooldownMs: number;
  /**
   * How long one probe holds the probe lock, in milliseconds. Longer than an attempt's
   * timeout, so a probe whose worker died frees the lock by itself.
   */
  probeLeaseMs: number;
  /**
   * Lifetime of an endpoint's failure count and open marker in the shared state, so the
   * keys of deleted or quiet endpoints go away. The count starts when a failure streak
   * does and is not extended, so this must outlast the longest streak that matters, such
   * as HOOKLINE_DISABLE_AFTER. Default 7 days.
   */
  stateTtlMs?: number;
}

/** Decision of the breaker on one attempt. */
export type Admission =
  /** The breaker is closed: send. */
  | { kind: 'closed' }
  /** The breaker was open and its wait is over: this attempt is the single probe. */
  | { kind: 'probe' }
  /** The breaker is open, or another attempt is probing: postpone to `retryAt`. */
  | { kind: 'open'; retryAt: number };

export type BreakerPosition = 'closed' | 'open' | 'half-open';

/** State of one endpoint's breaker, for the health route. */
export interface BreakerSnapshot {
  breaker: BreakerPosition;
  consecutiveFailures: number;
  /** When the next probe may run, while the breaker is open or half-open. */
  openUntil: number | null;
}

interface OpenState {
  openUntil: number;
  cooldownMs: number;
}

const DEFAULT_STATE_TTL_MS = 7 * 86_400_000;

/**
 * Circuit breaker per endpoint, kept in the shared state so that every worker process
 * reads the same consecutive failure count, open state and probe lock. After `threshold`
 * consecutive failures the breaker opens: attempts are postponed until the cooldown
 * ends, then a single probe runs at a time. A successful attempt closes the breaker; a
 * failed probe opens it again for twice the previous cooldown, up to the maximum.
 */
export class CircuitBreaker {
  private readonly stateTtlMs: number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.stateTtlMs = options.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
  }

  /** Decides whether an attempt to the endpoint may be sent now. */
  async admit(endpointId: string): Promise<Admission> {
    const open = await this.readOpen(endpointId);
    if (!open) {
      return { kind: 'closed' };
    }

    const now = this.options.clock();
    if (now < open.openUntil) {
      return { kind: 'open', retryAt: open.openUntil + spread(open.cooldownMs) };
    }
    const acquired = await this.options.state.setIfAbsent(this.key(endpointId, 'probe'), String(now), this.options.probeLeaseMs);
    if (acquired) {
      this.options.logger.info({ endpointId }, 'Circuit breaker half-open: sending one probe attempt');
      return { kind: 'probe' };
    }
    // Another attempt is probing; look again once it has had time to finish.
    return { kind: 'open', retryAt: now + Math.min(open.cooldownMs, this.options.probeLeaseMs) + spread(open.cooldownMs) };
  }

  /**
   * Counts a failed attempt. Returns the consecutive failure count and whether this
   * failure opened (or, for a probe, reopened) the breaker.
   */
  async recordFailure(endpointId: string, probe: boolean, ids: Record<string, string>): Promise<{ consecutiveFailures: number; opened: boolean }> {
    const { state, logger, clock, threshold, cooldownMs, maxCooldownMs } = this.options;
    const consecutiveFailures = await state.increment(this.key(endpointId, 'failures'), 1, this.stateTtlMs);
    const now = clock();

    if (probe) {
      const previous = await this.readOpen(endpointId);
      const nextCooldown = Math.min(maxCooldownMs, Math.max(cooldownMs, (previous?.cooldownMs ?? cooldownMs) * 2));
      const open: OpenState = { openUntil: now + nextCooldown, cooldownMs: nextCooldown };
      await state.set(this.key(endpointId, 'open'), JSON.stringify(open), this.stateTtlMs);
      await state.delete(this.key(endpointId, 'probe'));
      logger.warn(
        { ...ids, consecutiveFailures, openUntil: new Date(open.openUntil).toISOString() },
        'Circuit breaker reopened: the probe attempt failed',
      );
      return { consecutiveFailures, opened: true };
    }

    if (consecutiveFailures < threshold) {
      return { consecutiveFailures, opened: false };
    }
    const open: OpenState = { openUntil: now + cooldownMs, cooldownMs };
    // Several workers may cross the threshold together; the first one opens the breaker.
    const opened = await state.setIfAbsent(this.key(endpointId, 'open'), JSON.stringify(open), this.stateTtlMs);
    if (opened) {
      logger.warn(
        { ...ids, consecutiveFailures, openUntil: new Date(open.openUntil).toISOString() },
        'Circuit breaker opened: deliveries to this endpoint are postponed until a probe succeeds',
      );
    }
    return { consecutiveFailures, opened };
  }

  /**
   * Counts a successful attempt: the failure streak ends and an open breaker closes.
   * Returns the failure count that the success ended, 0 when there was none.
   */
  async recordSuccess(endpointId: string, ids: Record<string, string>): Promise<number> {
    const { state, logger } = this.options;
    const failuresText = await state.get(this.key(endpointId, 'failures'));
    if (failuresText === undefined) {
      return 0;
    }

    const wasOpen = (await this.readOpen(endpointId)) !== undefined;
    await state.delete(this.key(endpointId, 'failures'));
    await state.delete(this.key(endpointId, 'open'));
    await state.delete(this.key(endpointId, 'probe'));
    const endedFailures = Number.parseInt(failuresText, 10) || 0;
    if (wasOpen) {
      logger.info({ ...ids, endedFailures }, 'Circuit breaker closed: an attempt succeeded');
    }
    return endedFailures;
  }

  /** Resets an endpoint's breaker, when the endpoint is enabled again or deleted. */
  async reset(endpointId: string): Promise<void> {
    for (const part of ['failures', 'open', 'probe'] as const) {
      await this.options.state.delete(this.key(endpointId, part));
    }
  }

  async inspect(endpointId: string): Promise<BreakerSnapshot> {
    const failuresText = await this.options.state.get(this.key(endpointId, 'failures'));
    const consecutiveFailures = failuresText === undefined ? 0 : Number.parseInt(failuresText, 10) || 0;
    const open = await this.readOpen(endpointId);
    if (!open) {
      return { breaker: 'closed', consecutiveFailures, openUntil: null };
    }
    const breaker = this.options.clock() < open.openUntil ? 'open' : 'half-open';
    return { breaker, consecutiveFailures, openUntil: open.openUntil };
  }

  private async readOpen(endpointId: string): Promise<OpenState | undefined> {
    const text = await this.options.state.get(this.key(endpointId, 'open'));
    if (text === undefined) {
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as Partial<OpenState>;
      if (typeof parsed.openUntil === 'number' && typeof parsed.cooldownMs === 'number') {
        return { openUntil: parsed.openUntil, cooldownMs: parsed.cooldownMs };
      }
    } catch {
      // Fall through: a value that does not parse is treated as an open breaker whose wait is over.
    }
    this.options.logger.warn({ endpointId, value: text.slice(0, 100) }, 'Circuit breaker state is not valid JSON; probing the endpoint');
    return { openUntil: 0, cooldownMs: this.options.cooldownMs };
  }

  private key(endpointId: string, part: 'failures' | 'open' | 'probe'): string {
    return `breaker:${endpointId}:${part}`;
  }
}

/**
 * Up to a quarter of `ms`, so the deliveries postponed by an open breaker come back
 * spread out instead of all at the moment the probe may run.
 */
function spread(ms: number): number {
  return Math.floor(Math.random() * ms * 0.25);
}
