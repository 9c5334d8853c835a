const unitMilliseconds: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration such as `250ms`, `10s`, `5m`, `2h` or `3d` into milliseconds.
 * A bare number is read as seconds. Returns undefined for anything else.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) {
    return undefined;
  }

  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const milliseconds = value * (unitMilliseconds[unit] ?? 1_000);
  return Number.isFinite(milliseconds) ? Math.round(milliseconds) : undefined;
}

/** Formats milliseconds in the largest unit that divides them, for messages and docs. */
export function formatDuration(milliseconds: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = unitMilliseconds[unit] ?? 1;
    if (milliseconds >= size && milliseconds % size === 0) {
      return `${milliseconds / size}${unit}`;
    }
  }
  return `${milliseconds}ms`;
}
