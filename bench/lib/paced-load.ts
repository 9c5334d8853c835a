import { errors, Pool } from 'undici';
import { buildMessageBody } from './message-body.js';

export interface PacedLoadRequest {
  url: string;
  durationSeconds: number;
  connections: number;
  bodyBytes: number;
  headers: Record<string, string>;
  /** Requests per second, spaced evenly. */
  rate: number;
}

export interface PacedLoadCounts {
  startedAt: Date;
  finishedAt: Date;
  /** Seconds during which requests were sent. */
  durationSeconds: number;
  responses: number;
  accepted: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const requestTimeoutMs = 10_000;

/**
 * Sends POST requests at evenly spaced times, `rate` per second, over at most `connections`
 * connections, for `durationSeconds`, then waits for the responses still outstanding.
 * autocannon's own rate limit lets each connection send its share for a second at once,
 * so arrivals come in bursts, which is why rated runs use this instead.
 * A request whose time comes while every connection is busy waits in the pool, and its
 * latency includes that wait, so a server that falls behind shows it in the latency.
 */
export async function runPacedLoad(
  request: PacedLoadRequest,
  onResponse: (statusCode: number | undefined, latencyMs: number) => void,
): Promise<PacedLoadCounts> {
  const target = new URL(request.url);
  const pool = new Pool(target.origin, { connections: request.connections, pipelining: 1 });
  const headers = { 'content-type': 'application/json', ...request.headers };
  const counts = { responses: 0, accepted: 0, non2xx: 0, errors: 0, timeouts: 0 };
  const outstanding = new Set<Promise<void>>();

  const send = async () => {
    const body = buildMessageBody(request.bodyBytes);
    const requestStart = performance.now();
    try {
      const response = await pool.request({
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers,
        body,
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
      await response.body.dump();
      counts.responses += 1;
      if (response.statusCode >= 200 && response.statusCode < 300) {
        counts.accepted += 1;
      } else {
        counts.non2xx += 1;
      }
      onResponse(response.statusCode, performance.now() - requestStart);
    } catch (error) {
      counts.errors += 1;
      if (error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) {
        counts.timeouts += 1;
      }
      onResponse(undefined, performance.now() - requestStart);
    }
  };

  const startedAt = new Date();
  const start = performance.now();
  const end = start + request.durationSeconds * 1_000;
  const intervalMs = 1_000 / request.rate;
  for (let index = 0; start + index * intervalMs < end; index += 1) {
    const wait = start + index * intervalMs - performance.now();
    if (wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const pending = send();
    outstanding.add(pending);
    void pending.finally(() => outstanding.delete(pending));
  }
  const durationSeconds = (performance.now() - start) / 1_000;

  await Promise.all(outstanding);
  await pool.close();
  return { startedAt, finishedAt: new Date(), durationSeconds, ...counts };
}
