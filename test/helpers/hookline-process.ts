import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testAdminToken } from './hookline.js';

/** The compiled CLI, which `npm test` builds before the tests run. */
export const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The `hookline` commands that run a server: API and workers, the API alone, the workers alone. */
export type HooklineCommand = 'start' | 'api' | 'worker';

export interface SpawnOptions {
  /** Default `start`. */
  command?: HooklineCommand;
  /** Arguments after the command, such as `['--concurrency', '8']`. */
  args?: string[];
  /** Longest wait for the process to report that it is ready, in milliseconds. Default 15,000. */
  timeoutMs?: number;
}

/** A `hookline start`, `api` or `worker` child process and what it has written so far. */
export interface HooklineProcess {
  child: ChildProcess;
  pid: number;
  command: HooklineCommand;
  /** `http://127.0.0.1:port` from the "listening" log line; empty for `worker`, which serves no HTTP. */
  url: string;
  /** Every JSON log line written to stdout so far, parsed. */
  logs: Record<string, unknown>[];
  /** Everything written to stderr so far. */
  stderr: string[];
  /** Resolves with the exit code and signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a request with the admin token and returns the status and the JSON body, `{}` when empty. Not for `worker`. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

/**
 * Spawns `node dist/cli/main.js COMMAND` on a free loopback port with the admin token of
 * the test servers and loopback deliveries allowed, plus `env`. Resolves once the server
 * logs that it is listening, or for `worker` that it started. Rejects, after killing the
 * child, when that takes longer than `timeoutMs` or the process exits first.
 */
export async function spawnHookline(env: Record<string, string>, options: SpawnOptions = {}): Promise<HooklineProcess> {
  const { command = 'start', args = [], timeoutMs = 15_000 } = options;
  const child = spawn(process.execPath, [cliPath, command, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOOKLINE_HOST: '127.0.0.1',
      HOOKLINE_PORT: '0',
      HOOKLINE_ADMIN_TOKEN: testAdminToken,
      HOOKLINE_ALLOW_LOOPBACK: 'true',
      HOOKLINE_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new Error(`Spawning ${cliPath} failed`);
  }
  const pid = child.pid;

  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let listening: (url: string) => void = () => undefined;
  const listeningUrl = new Promise<string>((resolve) => {
    listening = resolve;
  });

  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') {
        continue;
      }
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line, unparsed: true };
      }
      logs.push(entry);
      if (typeof entry.url === 'string' && typeof entry.msg === 'string' && entry.msg.includes('listening on')) {
        listening(entry.url);
      } else if (command === 'worker' && typeof entry.msg === 'string' && entry.msg.includes('worker started')) {
        listening('');
      }
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => stderr.push(chunk));

  let timer: NodeJS.Timeout | undefined;
  const failure = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`hookline ${command} did not report that it is ready within ${timeoutMs} ms`)), timeoutMs);
    void exited.then(({ code, signal }) => {
      reject(new Error(`hookline ${command} exited before it was ready (code ${code}, signal ${signal}): ${stderr.join('')}`));
    });
  });

  let url: string;
  try {
    url = await Promise.race([listeningUrl, failure]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }

  return {
    child,
    pid,
    command,
    url,
    logs,
    stderr,
    exited,
    async request(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${testAdminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    },
  };
}

/**
 * Sends `signal` to the child unless it has exited, and resolves once it has exited.
 * Rejects when it is still running after `timeoutMs`, after killing it with SIGKILL.
 */
export async function stopHookline(
  hookline: HooklineProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 15_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (hookline.child.exitCode === null && hookline.child.signalCode === null) {
    hookline.child.kill(signal);
  }

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      hookline.child.kill('SIGKILL');
      reject(new Error(`Hookline (pid ${hookline.pid}) was still running ${timeoutMs} ms after ${signal}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([hookline.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
