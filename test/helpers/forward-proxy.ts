import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** One request that the proxy forwarded: the request target as sent and the Host header. */
export interface ProxiedRequest {
  method: string;
  /** Absolute-form target of a plain HTTP request, or `host:port` of a CONNECT. */
  target: string;
  host: string | undefined;
  proxyAuthorization: string | undefined;
}

export interface ForwardProxy {
  url: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a small HTTP forward proxy on 127.0.0.1 for tests. It forwards absolute-form
 * requests and CONNECT tunnels, but only to 127.0.0.1 or ::1, so a test can never make
 * it reach another host.
 */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((incoming, outgoing) => {
    requests.push({
      method: incoming.method ?? '',
      target: incoming.url ?? '',
      host: incoming.headers.host,
      proxyAuthorization: incoming.headers['proxy-authorization'],
    });
    let target: URL;
    try {
      target = new URL(incoming.url ?? '');
    } catch {
      outgoing.writeHead(400).end('absolute-form request target expected');
      return;
    }
    if (!isLoopback(target.hostname)) {
      outgoing.writeHead(403).end('this test proxy forwards only to loopback');
      return;
    }
    const { 'proxy-authorization': _auth, 'proxy-connection': _connection, ...headers } = incoming.headers;
    const forwarded = httpRequest(
      { host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, path: `${target.pathname}${target.search}`, method: incoming.method, headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.writeHead(502).end('upstream failed'));
    incoming.pipe(forwarded);
  });

  server.on('connect', (incoming, clientSocket: Socket, head: Buffer) => {
    requests.push({
      method: 'CONNECT',
      target: incoming.url ?? '',
      host: incoming.headers.host,
      proxyAuthorization: incoming.headers['proxy-authorization'],
    });
    const [host = '', port = ''] = splitHostPort(incoming.url ?? '');
    if (!isLoopback(host)) {
      clientSocket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    upstream.on('error', () => clientSocket.destroy());
    clientSocket.on('error', () => upstream.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === '127.0.0.1' || bare === '::1';
}

function splitHostPort(target: string): [string, string] {
  const index = target.lastIndexOf(':');
  return [target.slice(0, index), target.slice(index + 1)];
}
