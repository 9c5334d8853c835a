// Load generator of the benchmark, run as its own process. It receives one `run` request
// over IPC, posts JSON messages for a fixed time (with autocannon, or evenly paced through an
// undici pool when a rate is set), reports progress while it runs and replies with the result. Each body carries its send time as `payload.sentAt`, so
// the receiver can measure the delay from send to delivery.
import autocannon from 'autocannon';
import { round, summarize, type LatencySummary } from '../lib/percentiles.js';
import { buildMessageBody } from '../lib/message-body.js';
import { runPacedLoad } from '../lib/paced-load.js';
import { runBareSender, type BareSendRequest } from '../lib/bare-sender.js';

export interface LoadRequest {
  url: string;
  durationSeconds: number;
  connections: number;
  /** Size of every request body in bytes. */
  bodyBytes: number;
  headers: Record<string, string>;
  /** Requests per second over all connections, evenly spaced; as fast as responses come when undefined. */
  rate: number | undefined;
  /** Without a rate: stop after this many requests instead of after `durationSeconds`. */
  count?: number | undefined;
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
   * Latency of every request, in milliseconds, timed one by one because autocannon's own
   * histogram rounds to whole milliseconds.
   */
  latency: LatencySummary;
}

export interface LoadProgress {
  type: 'progress';
  accepted: number;
}

async function runClosedLoop(request: LoadRequest, onResponse: (statusCode: number, latencyMs: number) => void): Promise<autocannon.Result> {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const options: autocannon.Options = {
      url: request.url,
      method: 'POST',
      connections: request.connections,
      ...(request.count === undefined ? { duration: request.durationSeconds } : { amount: request.count }),
      headers: { 'content-type': 'application/json', ...request.headers },
      requests: [{ setupRequest: (built) => ({ ...built, body: buildMessageBody(request.bodyBytes) }) }],
    };
    const instance = autocannon(options, (error, finished) => (error ? reject(error as Error) : resolve(finished)));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => onResponse(statusCode, responseTime));
  });
}

/**
 * Runs the load: autocannon's closed loop (each connection sends its next request when the
 * previous response arrives) without a rate, or evenly paced requests with one.
 */
async function runLoad(request: LoadRequest): Promise<LoadResult> {
  let accepted = 0;
  const latencies: number[] = [];
  const onResponse = (statusCode: number | undefined, latencyMs: number) => {
    latencies.push(latencyMs);
    if (statusCode !== undefined && statusCode >= 200 && statusCode < 300) {
      accepted += 1;
    }
  };
  const progress = setInterval(() => process.send?.({ type: 'progress', accepted } satisfies LoadProgress), 250);

  let counts: Omit<LoadResult, 'acceptedPerSecond' | 'latency' | 'startedAt' | 'finishedAt'> & { startedAt: Date; finishedAt: Date };
  try {
    if (request.rate === undefined) {
      const result = await runClosedLoop(request, onResponse);
      counts = {
        startedAt: result.start,
        finishedAt: result.finish,
        durationSeconds: result.duration,
        responses: result.requests.total,
        accepted: result['2xx'],
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
      };
    } else {
      counts = await runPacedLoad({ ...request, rate: request.rate }, onResponse);
    }
  } finally {
    clearInterval(progress);
  }

  return {
    ...counts,
    startedAt: counts.startedAt.toISOString(),
    finishedAt: counts.finishedAt.toISOString(),
    durationSeconds: round(counts.durationSeconds),
    acceptedPerSecond: round(counts.accepted / counts.durationSeconds, 1),
    latency: summarize(latencies),
  };
}

process.on('message', (message: { type?: string; requestId?: number; load?: LoadRequest; send?: BareSendRequest }) => {
  if (message.type === 'send' && message.send !== undefined) {
    runBareSender(message.send).then(
      (result) => process.send?.({ requestId: message.requestId, result }),
      (error: unknown) => process.send?.({ requestId: message.requestId, error: error instanceof Error ? error.message : String(error) }),
    );
    return;
  }
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
