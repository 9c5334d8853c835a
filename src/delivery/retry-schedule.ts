/** Largest share by which a retry delay is spread up or down, so retries do not arrive in step. */
export const RETRY_JITTER = 0.2;

/**
 * Returns the delay in milliseconds before the next attempt of a delivery, after
 * `attemptsMade` attempts (1 after the first attempt): `schedule[attemptsMade - 1]`
 * spread by up to ±20% jitter and never negative. Returns undefined when the schedule is
 * exhausted, so the delivery has failed. `random` returns a number in [0, 1), as
 * Math.random does. Throws RangeError when attemptsMade is not a whole number of 1 or more.
 */
export function nextRetryDelay(
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number = Math.random,
): number | undefined {
  if (!Number.isSafeInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`Invalid attemptsMade ${attemptsMade}: expected a whole number of 1 or more.`);
  }

  const base = schedule[attemptsMade - 1];
  if (base === undefined) {
    return undefined;
  }

  const spread = (random() * 2 - 1) * RETRY_JITTER;
  return Math.max(0, Math.round(base * (1 + spread)));
}
