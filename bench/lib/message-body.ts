import { wallClockMs } from './wall-clock.js';

const eventType = 'bench.sent';
const padding = 'x'.repeat(1024 * 1024);

/**
 * Builds a message body of exactly `bodyBytes` bytes (or the smallest possible) stamped
 * with the current time as `payload.sentAt`, which the receiver compares with its arrival.
 */
export function buildMessageBody(bodyBytes: number): string {
  const head = `{"eventType":"${eventType}","payload":{"sentAt":${wallClockMs()},"padding":"`;
  const tail = '"}}';
  const fill = Math.max(0, bodyBytes - head.length - tail.length);
  return head + padding.slice(0, fill) + tail;
}
