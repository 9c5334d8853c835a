import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startProcess, type ManagedProcess } from './managed-process.js';

/** The compiled CLI; `npm run bench` builds it first. */
const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Admin token of benchmark servers; they listen on loopback only and live for one run. */
export const benchAdminToken = 'hookline-bench-admin-token-000000000000';

/** The `hookline` command to run: API and workers, only the API, or only the workers. */
export type HooklineRole = 'start' | 'api' | 'worker';

export interface HooklineProcessOptions {
  role: HooklineRole;
  dataDir: string;
  port: number;
  /** HOOKLINE_WORKER_CONCURRENCY; Hookline's default when undefined. */
  workerConcurrency: number | undefined;
  /** Folder for a V8 CPU profile written when the process exits; no profile when undefined. */
  profileDir: string | undefined;
  /** Name of the process in messages and profile file names. Default `hookline ROLE`. */
  name?: string;
  /** More environment, such as DATABASE_URL and REDIS_URL for the scaled mode. */
  env?: Record<string, string>;
}

export interface HooklineProcess {
  process: ManagedProcess;
  url: string;
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node dist/cli/main.js ROLE`, on embedded defaults unless `env` names PostgreSQL
 * and Redis. Logs are at warn level, so the per-attempt info lines do not cost throughput.
 * HOOKLINE_PORT=0 would pick the port, but the line that reports it is logged at info, so
 * the port is chosen here instead.
 */
export async function startHooklineProcess(options: HooklineProcessOptions): Promise<HooklineProcess> {
  const name = options.name ?? `hookline ${options.role}`;
  const profileName = `${name.replaceAll(' ', '-')}-${process.pid}-${Date.now()}.cpuprofile`;
  const nodeArguments = options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${profileName}`];
  const environment: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOOKLINE_HOST: '127.0.0.1',
    HOOKLINE_PORT: String(options.port),
    HOOKLINE_DATA_DIR: options.dataDir,
    HOOKLINE_ADMIN_TOKEN: benchAdminToken,
    HOOKLINE_ALLOW_LOOPBACK: 'true',
    HOOKLINE_LOG_LEVEL: 'warn',
    // Node options for the Hookline processes only, such as a preload that counts statements.
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    ...(options.workerConcurrency === undefined ? {} : { HOOKLINE_WORKER_CONCURRENCY: String(options.workerConcurrency) }),
    ...options.env,
  };

  const managed = startProcess(
    name,
    process.execPath,
    [...nodeArguments, cliPath, options.role],
    { env: environment, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = `http://127.0.0.1:${options.port}`;
  if (options.role !== 'worker') {
    await waitUntilHealthy(managed, url, 30_000);
  }
  return { process: managed, url };
}

async function waitUntilHealthy(managed: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (managed.child.exitCode !== null || managed.child.signalCode !== null) {
      throw new Error(`${managed.name} exited during start-up.\n${managed.stderrTail()}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${managed.name} did not respond to ${url}/healthz within ${timeoutMs} ms.\n${managed.stderrTail()}`);
}

/** Sends an API request with the admin token and returns the parsed JSON body; throws on a non-2xx status. */
export async function callApi<T>(url: string, method: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${benchAdminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path} returned ${response.status}: ${text}`);
  }
  return JSON.parse(text) as T;
}
