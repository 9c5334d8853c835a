// Webhook receiver of the benchmark, run as its own process so its work does not share an
// event loop with Hookline or the load generator. It responds to every request with 204.
// Requests whose path starts with /hook are deliveries: the receiver counts them and records
// the delay from the `sentAt` time in the payload to receipt. Every other path counts as a
// ceiling request. While refusing (see `refuse`), deliveries get 500 and count as refused.
// A second server on `deadPort` reads each request and never responds, like an endpoint that
// times out. It has a port of its own because a dead endpoint is another host.
// The parent talks to it over IPC: it sends {type: 'ready', port, deadPort}, then replies to
// `snapshot`, `summary`, `reset` and `refuse` requests.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { summarize } from '../lib/percentiles.js';
import { wallClockMs } from '../lib/wall-clock.js';

export interface ReceiverSnapshot {
  deliveries: number;
  /** Distinct deliveries: pairs of request path and `webhook-id`. */
  uniqueMessages: number;
  ceilingRequests: number;
  /** Deliveries that received a 500 while the receiver rejected them. */
  refused: number;
  /** Requests that reached the dead server. */
  deadRequests: number;
  /** Deliveries whose payload had no numeric `sentAt`. */
  unparsed: number;
  firstDeliveryAt: number | undefined;
  lastDeliveryAt: number | undefined;
}

let deliveries = 0;
let ceilingRequests = 0;
let refused = 0;
let deadRequests = 0;
let unparsed = 0;
let refusing = false;
let firstDeliveryAt: number | undefined;
let lastDeliveryAt: number | undefined;
let delays: number[] = [];
let messageIds = new Set<string>();
const heldResponses = new Set<ServerResponse>();

function recordDelivery(body: Buffer, key: string | undefined, receivedAt: number): void {
  deliveries += 1;
  firstDeliveryAt ??= receivedAt;
  lastDeliveryAt = receivedAt;
  if (key !== undefined) {
    messageIds.add(key);
  }

  let sentAt: unknown;
  try {
    sentAt = (JSON.parse(body.toString('utf8')) as { sentAt?: unknown }).sentAt;
  } catch {
    sentAt = undefined;
  }
  if (typeof sentAt === 'number') {
    delays.push(receivedAt - sentAt);
  } else {
    unparsed += 1;
  }
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const receivedAt = wallClockMs();
    const isDelivery = request.url?.startsWith('/hook') === true;
    if (isDelivery && refusing) {
      refused += 1;
      // 500, not 503: Hookline treats 503 as a request to slow down and holds back the
      // endpoint's other deliveries, so they would not all get their first attempt.
      response.writeHead(500);
      response.end();
      return;
    }
    response.writeHead(204);
    response.end();

    if (isDelivery) {
      const webhookId = request.headers['webhook-id'];
      recordDelivery(Buffer.concat(chunks), typeof webhookId === 'string' ? `${request.url} ${webhookId}` : undefined, receivedAt);
    } else {
      ceilingRequests += 1;
    }
  });
});

// Reads the request and keeps the response open until the client gives up.
const deadServer = createServer((request, response) => {
  deadRequests += 1;
  request.resume();
  heldResponses.add(response);
  response.on('close', () => heldResponses.delete(response));
});

function snapshot(): ReceiverSnapshot {
  return { deliveries, uniqueMessages: messageIds.size, ceilingRequests, refused, deadRequests, unparsed, firstDeliveryAt, lastDeliveryAt };
}

process.on('message', (message: { type?: string; requestId?: number; on?: boolean }) => {
  switch (message.type) {
    case 'snapshot':
      process.send?.({ requestId: message.requestId, ...snapshot() });
      break;
    case 'summary':
      process.send?.({ requestId: message.requestId, ...snapshot(), delay: summarize(delays) });
      break;
    case 'refuse':
      refusing = message.on === true;
      process.send?.({ requestId: message.requestId });
      break;
    case 'reset':
      deliveries = 0;
      ceilingRequests = 0;
      refused = 0;
      deadRequests = 0;
      unparsed = 0;
      firstDeliveryAt = undefined;
      lastDeliveryAt = undefined;
      delays = [];
      messageIds = new Set();
      process.send?.({ requestId: message.requestId });
      break;
    default:
      break;
  }
});

// The parent owns this process: it exits when the parent closes the IPC channel or sends SIGTERM.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

server.keepAliveTimeout = 30_000;
deadServer.requestTimeout = 0;
deadServer.headersTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  deadServer.listen(0, '127.0.0.1', () => {
    const { port: deadPort } = deadServer.address() as AddressInfo;
    process.send?.({ type: 'ready', port, deadPort });
  });
});
