import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Logger, type LoggerOptions, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level: string;
  /** `pretty` for coloured lines, `json` for one object per line. Defaults to pretty when stdout is a terminal. */
  format?: 'json' | 'pretty' | undefined;
  /** Human-readable lines instead of JSON; the same as `format: 'pretty'`. */
  pretty?: boolean;
  /** Stream that receives the lines instead of stdout. */
  destination?: NodeJS.WritableStream;
  /** File that also receives every line as JSON, appended. */
  file?: string | undefined;
}

/**
 * Paths that may hold a secret or a token. pino replaces their values before a line is written,
 * so a stray object in a log call cannot leak them.
 */
export const redactedPaths = [
  'secret',
  'secrets',
  'key',
  'token',
  'password',
  'adminToken',
  'encryptionKey',
  'authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  'requestHeaders',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.key',
  '*.password',
  '*.authorization',
  '*.requestHeaders',
];

/** Flushes the streams of each logger that createLogger made. */
const flushers = new WeakMap<Logger, () => void>();

/**
 * Creates the process logger: JSON lines, or pretty lines on a terminal, on stdout or
 * `destination`, and JSON lines in `file` as well when it is set.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'hookline' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };

  let usePretty = settings.destination === undefined && process.stdout.isTTY === true;
  if (settings.pretty !== undefined) {
    usePretty = settings.pretty;
  }
  if (settings.format !== undefined) {
    usePretty = settings.format === 'pretty';
  }
  const primary: DestinationStream = usePretty
    ? pretty({
        colorize: settings.destination === undefined && process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        sync: true,
        ...(settings.destination ? { destination: settings.destination } : {}),
      })
    : ((settings.destination as DestinationStream | undefined) ?? pino.destination(1));

  const streams: StreamEntry[] = [{ level: 'trace', stream: primary }];
  if (settings.file !== undefined) {
    mkdirSync(dirname(settings.file), { recursive: true });
    streams.push({ level: 'trace', stream: pino.destination({ dest: settings.file, sync: false, append: true }) });
  }

  if (streams.length === 1) {
    const logger = pino(options, primary);
    const flushable = primary as DestinationStream & { flushSync?: () => void };
    flushers.set(logger, () => flushable.flushSync?.());
    return logger;
  }
  const multi = pino.multistream(streams);
  const logger = pino(options, multi);
  flushers.set(logger, () => multi.flushSync());
  return logger;
}

/** Writes every buffered line of a logger from createLogger synchronously; call it before the process exits. */
export function flushLogger(logger: Logger): void {
  try {
    flushers.get(logger)?.();
  } catch {
    // A stream that is not ready yet has nothing buffered to lose.
  }
}
