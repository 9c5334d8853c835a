import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level: string;
  /** Human-readable lines instead of JSON. Defaults to whether stdout is a terminal. */
  pretty?: boolean;
  /** Stream that receives the JSON lines. Defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * Paths that may hold a secret or a token. pino replaces their values before a line is written,
 * so a stray object in a log call cannot leak them.
 */
export const redactedPaths = [
  'secret',
  'key',
  'token',
  'adminToken',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  '*.secret',
  '*.token',
  '*.key',
];

/** Creates the process logger: JSON lines, or pretty lines on a terminal. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'hookline' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };

  const pretty = settings.pretty ?? (settings.destination === undefined && process.stdout.isTTY === true);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } },
    });
  }
  if (settings.destination) {
    return pino(options, settings.destination);
  }
  return pino(options);
}
