import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A child process of the benchmark, stopped by its pid when the run ends. */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code, or the signal name, once the process has exited. */
  exited: Promise<number | string>;
  /** The last 64 KiB of stderr, for error messages. */
  stderrTail(): string;
  /** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
  stop(graceMs?: number): Promise<number | string>;
}

const running = new Set<ManagedProcess>();
const stderrLimit = 64 * 1024;

/** Starts a process with an IPC channel and registers it for `stopAll`. */
export function startProcess(name: string, command: string, args: string[], options: SpawnOptions = {}): ManagedProcess {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    ...options,
  });
  if (child.pid === undefined) {
    throw new Error(`Could not start the ${name} process (${command} ${args.join(' ')}).`);
  }

  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-stderrLimit);
  });
  // stdout is drained so a chatty child never blocks on a full pipe.
  child.stdout?.resume();

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  const managed: ManagedProcess = {
    name,
    child,
    pid: child.pid,
    exited,
    stderrTail: () => stderr,
    async stop(graceMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(managed);
      return exited;
    },
  };
  running.add(managed);
  void exited.then(() => running.delete(managed));
  return managed;
}

/** Stops every process that `startProcess` started and that is still running. */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all([...running].map((managed) => managed.stop(graceMs)));
}

let nextRequestId = 1;

/**
 * Sends `message` to a child over IPC and waits for the reply that carries the same `requestId`.
 * Rejects when the child exits or does not reply within `timeoutMs`.
 */
export async function requestReply<T>(managed: ManagedProcess, message: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
  const requestId = nextRequestId++;
  const { child } = managed;

  return new Promise<T>((resolve, reject) => {
    const onMessage = (reply: unknown) => {
      if (typeof reply === 'object' && reply !== null && (reply as { requestId?: unknown }).requestId === requestId) {
        cleanup();
        resolve(reply as T);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`The ${managed.name} process exited before replying to ${String(message.type)}.\n${managed.stderrTail()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`The ${managed.name} process did not reply to ${String(message.type)} within ${timeoutMs} ms.`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };

    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ ...message, requestId });
  });
}

/** Waits for the first IPC message of the given type, or rejects when the child exits or `timeoutMs` passes. */
export async function waitForMessage<T>(managed: ManagedProcess, type: string, timeoutMs: number): Promise<T> {
  const { child } = managed;

  return new Promise<T>((resolve, reject) => {
    const onMessage = (received: unknown) => {
      if (typeof received === 'object' && received !== null && (received as { type?: unknown }).type === type) {
        cleanup();
        resolve(received as T);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`The ${managed.name} process exited before sending "${type}".\n${managed.stderrTail()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`The ${managed.name} process did not send "${type}" within ${timeoutMs} ms.`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };

    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
