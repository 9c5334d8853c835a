import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as a test receiver got it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Reacts to a request after its body has been read. */
export type ReceiverHandler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

/** An HTTP server on a loopback address that records what it receives. */
export interface Receiver {
  port: number;
  /** Requests whose body was read completely. */
  requests: ReceivedRequest[];
  /** TCP connections accepted, including those that never sent a complete request. */
  connections: number;
  close(): Promise<void>;
}

/**
 * Starts a receiver on `host` (127.0.0.1 by default) on a free port.
 * Rejects when the host cannot be bound, for example ::1 on a machine without IPv6.
 */
export async function startReceiver(handler: ReceiverHandler, host = '127.0.0.1'): Promise<Receiver> {
  const sockets = new Set<Socket>();
  const requests: ReceivedRequest[] = [];
  let connections = 0;

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      handler(request, response, body);
    });
  });
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Responds to every request with this status, body and headers. */
export function answer(statusCode: number, body = '', headers: Record<string, string> = {}): ReceiverHandler {
  return (_request, response) => {
    response.writeHead(statusCode, headers);
    response.end(body);
  };
}
