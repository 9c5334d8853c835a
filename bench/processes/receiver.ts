// Webhook receiver of the benchmark, run as its own process so its work does not share an
// event loop with Hookline or the load generator. It responds to every request with 204.
// Requests to /hook are deliveries: the receiver counts them and records the delay from
// the `sentAt` time in the payload to receipt. Every other path counts as a ceiling request.
// The parent talks to it over IPC: it sends {type: 'ready', port}, then replies to
// `snapshot`, `summary` and `reset` requests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { summarize } from '../lib/percentiles.js';
import { wallClockMs } from '../lib/wall-clock.js';

export interface ReceiverSnapshot {
  deliveries: number;
  uniqueMessages: number;
  ceilingRequests: number;
  /** Deliveries whose payload had no numeric `sentAt`. */
  unparsed: number;
  lastDeliveryAt: number | undefined;
}

let deliveries = 0;
let ceilingRequests = 0;
let unparsed = 0;
let lastDeliveryAt: number | undefined;
let delays: number[] = [];
let messageIds = new Set<string>();

function recordDelivery(body: Buffer, webhookId: string | undefined, receivedAt: number): void {
  deliveries += 1;
  lastDeliveryAt = receivedAt;
  if (webhookId !== undefined) {
    messageIds.add(webhookId);
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
    response.writeHead(204);
    response.end();

    if (request.url?.startsWith('/hook') === true) {
      const webhookId = request.headers['webhook-id'];
      recordDelivery(Buffer.concat(chunks), typeof webhookId === 'string' ? webhookId : undefined, receivedAt);
    } else {
      ceilingRequests += 1;
    }
  });
});

function snapshot(): ReceiverSnapshot {
  return { deliveries, uniqueMessages: messageIds.size, ceilingRequests, unparsed, lastDeliveryAt };
}

process.on('message', (message: { type?: string; requestId?: number }) => {
  switch (message.type) {
    case 'snapshot':
      process.send?.({ requestId: message.requestId, ...snapshot() });
      break;
    case 'summary':
      process.send?.({ requestId: message.requestId, ...snapshot(), delay: summarize(delays) });
      break;
    case 'reset':
      deliveries = 0;
      ceilingRequests = 0;
      unparsed = 0;
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
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', port });
});
