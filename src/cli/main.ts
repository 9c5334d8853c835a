#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Roles } from '../app/hookline.js';
import { version } from '../app/version.js';
import { ConfigError, loadConfig, type Config } from '../config/load.js';
import { createLogger, flushLogger } from '../observability/logger.js';
import { UsageError } from './api-client.js';
import type { ToolCommand } from './command.js';
import { listenCommand } from './listen.js';
import { receiveCommand } from './receive.js';
import { sendCommand } from './send.js';
import { tokenCommand } from './token.js';
import { verifyCommand } from './verify.js';

const usage = `Usage: hookline <command> [options]

Commands:
  start              Run the API and the workers in one process (embedded mode by default).
  api                Run only the HTTP API.
  worker             Run only the workers that fan out and deliver messages.
  migrate            Apply pending database migrations and exit.

Tools (hookline <tool> --help describes each):
  listen <app> --forward-to URL   Forward an application's messages to a local server.
  send <app> <event-type> --data JSON|@FILE   Send a message.
  verify --secret S --headers FILE --body FILE   Check a captured webhook and name what fails.
  receive [--port N] [--secret S]   Run a local receiver that verifies and prints webhooks.
  token create --app <app>   Create an application token for the API and the portal.

Options:
  --concurrency N    worker, start: delivery attempts run at the same time (overrides HOOKLINE_WORKER_CONCURRENCY).
  --port N           api, start: TCP port to listen on (overrides HOOKLINE_PORT).
  --host ADDRESS     api, start: address to listen on (overrides HOOKLINE_HOST).
  -h, --help         Print this help.
  -v, --version      Print the version.

Every setting is an environment variable; docs/configuration.md lists them all.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function integerOption(name: string, text: string | undefined, minimum: number, maximum: number): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < minimum || value > maximum) {
    fail(`Invalid --${name} "${text}": expected a whole number from ${minimum} to ${maximum}.`);
  }
  return value;
}

async function run(roles: Roles, config: Readonly<Config>): Promise<void> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, file: config.logFile });
  // Loaded here so that the tools start without the server's modules.
  const { startHookline } = await import('../app/hookline.js');
  const hookline = await startHookline({ config, logger, roles });

  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'Second signal received; exiting without waiting');
      flushLogger(logger);
      process.exit(1);
    }
    logger.info({ signal }, 'Signal received');
    hookline.close().then(
      () => {
        flushLogger(logger);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed');
        flushLogger(logger);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const tools = new Map<string, ToolCommand>(
  [listenCommand, sendCommand, verifyCommand, receiveCommand, tokenCommand].map((tool) => [tool.name, tool]),
);

/** Runs a tool command and exits with its status: 2 for a usage error, 1 for a failure. */
async function runTool(tool: ToolCommand, args: string[]): Promise<never> {
  let status: number;
  try {
    status = await tool.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`hookline ${tool.name}: ${error.message}
Run "hookline ${tool.name} --help" for its options.
`);
      process.exit(2);
    }
    process.stderr.write(`hookline ${tool.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  process.exit(status);
}

async function main(): Promise<void> {
  const tool = tools.get(process.argv[2] ?? '');
  if (tool) {
    return runTool(tool, process.argv.slice(3));
  }

  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        concurrency: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
  }

  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return;
  }
  const command = positionals[0];
  if (values.help || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (command === undefined) {
    fail(`Missing command.\n\n${usage}`);
  }

  const overrides: Partial<Config> = {};
  const concurrency = integerOption('concurrency', values.concurrency, 1, 10_000);
  if (concurrency !== undefined) {
    overrides.workerConcurrency = concurrency;
  }
  const port = integerOption('port', values.port, 0, 65_535);
  if (port !== undefined) {
    overrides.port = port;
  }
  if (values.host !== undefined) {
    overrides.host = values.host;
  }

  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      fail(error.message);
    }
    throw error;
  }

  switch (command) {
    case 'start':
      return run({ api: true, worker: true }, config);
    case 'api':
      return run({ api: true, worker: false }, config);
    case 'worker':
      return run({ api: false, worker: true }, config);
    case 'migrate': {
      const { migrateStore } = await import('../app/migrate.js');
      const applied = await migrateStore(config);
      process.stdout.write(applied.length > 0 ? `Applied ${applied.join(', ')}\n` : 'The database is up to date.\n');
      return;
    }
    default:
      fail(`Unknown command "${command}".\n\n${usage}`);
  }
}

/** Explains the start-up failures that come from the environment rather than from a bug. */
function describeStartupError(error: NodeJS.ErrnoException): string | undefined {
  switch (error.code) {
    case 'EADDRINUSE':
      return `${error.message}: another process listens on that address. Stop it, or set HOOKLINE_PORT (or --port) to a free port.`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `${error.message}: HOOKLINE_HOST is not an address of this machine. Use 127.0.0.1, 0.0.0.0 or one of its own addresses.`;
    case 'ERR_HOOKLINE_ENCRYPTION_KEY':
      return error.message;
    case 'EACCES':
    case 'EPERM':
    case 'EEXIST':
    case 'ENOTDIR':
    case 'EROFS':
      return `${error.message}: check that HOOKLINE_DATA_DIR names a folder this user can create and write.`;
    default:
      return undefined;
  }
}

main().catch((error: unknown) => {
  const known = error instanceof Error ? describeStartupError(error as NodeJS.ErrnoException) : undefined;
  // Unknown errors keep their stack, because they point at a bug.
  const text = known ?? (error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.stderr.write(`hookline: ${text}\n`);
  process.exit(1);
});
