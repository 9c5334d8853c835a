import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A redis-server that a test started on a free loopback port, for cases that stop or reconfigure Redis. */
export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server and waits for its process to exit. */
  stop(): Promise<void>;
  /** Starts the server again on the same port, empty, as after a restart without persistence. */
  start(): Promise<void>;
}

/** Returns a port that was free a moment ago, from the kernel's choice for port 0. */
async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') {
    throw new Error('Could not find a free port: the probe server has no port.');
  }
  return address.port;
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`redis-server at ${url} did not answer PING within ${timeoutMs} ms.`, { cause: error });
      }
    } finally {
      redis.disconnect();
    }
    await delay(20);
  }
}

/**
 * Starts `redis-server` as a child process on a free port, without persistence.
 * `extraArguments` are passed on, such as `['--maxmemory-policy', 'allkeys-lru']`.
 */
export async function startRedisServer(extraArguments: string[] = []): Promise<RedisServer> {
  const port = await findFreePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extraArguments],
      { stdio: 'ignore' },
    );
    child = started;
    await waitForPing(url, 5_000);
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) {
      return;
    }
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  }

  await start();
  return { port, url, stop, start };
}
