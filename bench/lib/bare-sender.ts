import { Agent } from 'undici';
import { buildMessageBody } from './message-body.js';
import { round, summarize, type LatencySummary } from './percentiles.js';

export interface BareSendRequest {
  url: string;
  /** Requests kept in flight at once. */
  inFlight: number;
  bodyBytes: number;
  /** Send for this many seconds… */
  durationSeconds?: number | undefined;
  /** …or send exactly this many requests. */
  count?: number | undefined;
}

export interface BareSendResult {
  requests: number;
  failed: number;
  seconds: number;
  perSecond: number;
  latency: LatencySummary;
}

/**
 * The sender ceiling: POSTs JSON bodies of the message size through an undici Agent, as Hookline's
 * delivery client does, keeping `inFlight` requests open, with nothing else in the loop.
 * Runs for `durationSeconds` or until `count` requests have received a response.
 */
export async function runBareSender(request: BareSendRequest): Promise<BareSendResult> {
  const target = new URL(request.url);
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let requests = 0;
  let failed = 0;
  let started = 0;
  const start = performance.now();
  const end = request.durationSeconds === undefined ? Number.POSITIVE_INFINITY : start + request.durationSeconds * 1_000;
  const limit = request.count ?? Number.POSITIVE_INFINITY;

  const lane = async () => {
    while (started < limit && performance.now() < end) {
      started += 1;
      const sentAt = performance.now();
      try {
        const response = await agent.request({
          origin: target.origin,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: buildMessageBody(request.bodyBytes),
        });
        await response.body.dump();
        if (response.statusCode >= 300) {
          failed += 1;
        }
      } catch {
        failed += 1;
      }
      requests += 1;
      latencies.push(performance.now() - sentAt);
    }
  };
  await Promise.all(Array.from({ length: request.inFlight }, lane));
  const seconds = (performance.now() - start) / 1_000;
  await agent.close();
  return { requests, failed, seconds: round(seconds), perSecond: round(requests / seconds, 1), latency: summarize(latencies) };
}
