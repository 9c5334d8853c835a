/**
 * Milliseconds since the Unix epoch with microsecond resolution. Every benchmark process
 * reads the same system clock, so a time taken in one process can be compared with a
 * time taken in another. performance.now() is monotonic from the process start, so a
 * clock step during a run shifts it against Date.now(); runs are short enough to ignore that.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
