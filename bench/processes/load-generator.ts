// Load generator of the benchmark, run as its own process. It receives one `run` request
// over IPC, posts JSON messages with autocannon for a fixed time, reports progress while it
// runs and replies with the result. Each body carries its send time as `payload.sentAt`, so
// the receiver can measure the delay from send to delivery.
import autocannon from 'autocannon';
import { round, summarize, type LatencySummary } from '../lib/percentiles.js';
import { wallClockMs } from '../lib/wall-clock.js';

export interface LoadRequest {
  url: string;
  durationSeconds: number;
  connections: number;
  /** Size of every request body in bytes. */
  bodyBytes: number;
  headers: Record<string, string>;
  /** Requests per second over all connections; as fast as responses come when undefined. */
  rate: number | undefined;
}

export interface LoadResult {
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  /** Responses received, whatever their status. */
  responses: number;
  /** Responses with a 2xx status. */
  accepted: number;
  non2xx: number;
  /** Connection errors, including timeouts. */
  errors: number;
  timeouts: number;
  acceptedPerSecond: number;
  /**
   * Request latency of every response, in milliseconds. It is taken from autocannon's
   * per-response timing rather than its histogram, which rounds to whole milliseconds.
   */
  latency: LatencySummary;
}

export interface LoadProgress {
  type: 'progress';
  accepted: number;
}

const eventType = 'bench.sent';
const padding = 'x'.repeat(1024 * 1024);

/** Builds a message body of exactly `bodyBytes` bytes (or the smallest possible) stamped with the current time. */
export function buildMessageBody(bodyBytes: number): string {
  const head = `{"eventType":"${eventType}","payload":{"sentAt":${wallClockMs()},"padding":"`;
  const tail = '"}}';
  const fill = Math.max(0, bodyBytes - head.length - tail.length);
  return head + padding.slice(0, fill) + tail;
}

async function runLoad(request: LoadRequest): Promise<LoadResult> {
  let accepted = 0;
  const latencies: number[] = [];
  const progress = setInterval(() => process.send?.({ type: 'progress', accepted } satisfies LoadProgress), 250);

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options: autocannon.Options = {
      url: request.url,
      method: 'POST',
      connections: request.connections,
      duration: request.durationSeconds,
      headers: { 'content-type': 'application/json', ...request.headers },
      requests: [{ setupRequest: (built) => ({ ...built, body: buildMessageBody(request.bodyBytes) }) }],
      ...(request.rate === undefined ? {} : { overallRate: request.rate }),
    };
    const instance = autocannon(options, (error, finished) => (error ? reject(error as Error) : resolve(finished)));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      if (statusCode >= 200 && statusCode < 300) {
        accepted += 1;
      }
    });
  });
  clearInterval(progress);

  const durationSeconds = result.duration;
  return {
    startedAt: result.start.toISOString(),
    finishedAt: result.finish.toISOString(),
    durationSeconds: round(durationSeconds),
    responses: result.requests.total,
    accepted: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    acceptedPerSecond: round(result['2xx'] / durationSeconds, 1),
    latency: summarize(latencies),
  };
}

process.on('message', (message: { type?: string; requestId?: number; load?: LoadRequest }) => {
  if (message.type !== 'run' || message.load === undefined) {
    return;
  }
  runLoad(message.load).then(
    (result) => process.send?.({ requestId: message.requestId, result }),
    (error: unknown) => process.send?.({ requestId: message.requestId, error: error instanceof Error ? error.message : String(error) }),
  );
});

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.send?.({ type: 'ready' });
