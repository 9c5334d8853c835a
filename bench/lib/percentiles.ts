/** Summary of a set of durations, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Summarizes `values` with the nearest-rank method: p50 is the smallest value that at least
 * half of the values do not exceed. Returns zeros for an empty set. Sorts `values` in place.
 */
export function summarize(values: number[] | Float64Array): LatencySummary {
  if (values.length === 0) {
    return { count: 0, p50: 0, p99: 0, max: 0, mean: 0 };
  }

  values.sort((a, b) => a - b);
  let sum = 0;
  for (const value of values) {
    sum += value;
  }
  const rank = (fraction: number) => values[Math.max(0, Math.ceil(fraction * values.length) - 1)] ?? 0;

  return {
    count: values.length,
    p50: round(rank(0.5)),
    p99: round(rank(0.99)),
    max: round(values[values.length - 1] ?? 0),
    mean: round(sum / values.length),
  };
}

/** Rounds to three decimals, enough for milliseconds measured with microsecond clocks. */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
