// Benchmark harness: `npm run bench -- <scenario> [options]`. See docs/benchmarks.md.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, describeSource } from './lib/machine.js';
import { stopAll } from './lib/managed-process.js';
import { Progress } from './lib/progress.js';
import { compare, renderTable, writeResult, type BenchResult } from './lib/report.js';
import { defaultDatabaseUrl, defaultRedisUrl } from './lib/scaled-backends.js';
import { runPipeline, type BenchMode, type PipelineOptions, type PipelineScenario } from './scenarios/pipeline.js';

const scenarios: readonly PipelineScenario[] = ['pipeline', 'ingest', 'deliver'];
const modes: readonly BenchMode[] = ['embedded', 'scaled'];
const packageFolder = fileURLToPath(new URL('..', import.meta.url));

const usage = `Usage: npm run bench -- <scenario> [options]

Scenarios:
  pipeline   Post messages to \`hookline start\` (scaled mode: \`hookline api\` beside
             --workers \`hookline worker\` processes) for a fixed time and measure acceptance,
             delivery to a receiver process, the drain of the backlog and the accept-to-receipt delay.
  ingest     The API half alone: post messages to \`hookline api\`, which delivers nothing.
  deliver    The worker half alone: fill a backlog through \`hookline api\`, stop it, and time
             \`hookline worker\` (scaled mode: --workers of them) draining it.

Each scenario first measures the ceiling: the same load against a bare node:http server that responds 204.

Options:
  --duration S           seconds of load against Hookline (default 10)
  --ceiling-duration S   seconds of load against the bare server (default: --duration)
  --connections N        concurrent connections of the load generator (default 10)
  --rate N               messages per second to offer, over all connections (default: as many as
                         the server accepts); the ceiling run gets the same rate
  --body-bytes N         size of each request body in bytes (default 1024)
  --concurrency N        HOOKLINE_WORKER_CONCURRENCY of each Hookline process (default: Hookline's own)
  --mode MODE            embedded (SQLite and the embedded queue, the default) or scaled
                         (PostgreSQL and BullMQ on Redis, in a schema and key prefix of the run's own)
  --workers N            scaled mode: \`hookline worker\` processes (default 1)
  --database-url URL     scaled mode: PostgreSQL database (default ${defaultDatabaseUrl})
  --redis-url URL        scaled mode: Redis server (default ${defaultRedisUrl})
  --drain-timeout S      longest wait for the backlog to drain, in seconds (default 120)
  --out DIR              folder for the JSON result and markdown summary (default bench/results)
  --profile              write V8 CPU profiles of the Hookline processes into DIR/profiles
  -h, --help             print this help`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}

function numberOption(name: string, text: string | undefined, fallback: number, minimum: number, maximum: number): number {
  if (text === undefined) {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    fail(`Invalid --${name} "${text}": expected a whole number from ${minimum} to ${maximum}.`);
  }
  return value;
}

/** Reconstructs the command line as the user typed it, for the result and the table. */
function commandLine(args: string[]): string {
  const quoted = args.map((arg) => (/^[\w./=:-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench -- ${quoted}` : `node --import tsx bench/run.ts ${quoted}`;
}

function parseOptions(args: string[]): { options: PipelineOptions; outFolder: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        duration: { type: 'string' },
        'ceiling-duration': { type: 'string' },
        connections: { type: 'string' },
        'body-bytes': { type: 'string' },
        rate: { type: 'string' },
        concurrency: { type: 'string' },
        mode: { type: 'string' },
        workers: { type: 'string' },
        'database-url': { type: 'string' },
        'redis-url': { type: 'string' },
        'drain-timeout': { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }

  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const scenario = positionals[0];
  if (scenario === undefined || !(scenarios as readonly string[]).includes(scenario) || positionals.length > 1) {
    fail(`Expected one scenario out of ${scenarios.join(', ')}; got ${positionals.length === 0 ? 'none' : positionals.join(' ')}.`);
  }

  const mode = values.mode ?? 'embedded';
  if (!(modes as readonly string[]).includes(mode)) {
    fail(`Invalid --mode "${mode}": expected ${modes.join(' or ')}.`);
  }
  const scaled = mode === 'scaled';
  for (const name of ['workers', 'database-url', 'redis-url'] as const) {
    if (!scaled && values[name] !== undefined) {
      fail(`--${name} needs --mode scaled.`);
    }
  }

  const durationSeconds = numberOption('duration', values.duration, 10, 1, 3_600);
  const outFolder = resolve(values.out ?? `${packageFolder}/bench/results`);
  return {
    outFolder,
    options: {
      scenario: scenario as PipelineScenario,
      mode: mode as BenchMode,
      workers: scaled ? numberOption('workers', values.workers, 1, 1, 64) : 1,
      databaseUrl: scaled ? (values['database-url'] ?? defaultDatabaseUrl) : undefined,
      redisUrl: scaled ? (values['redis-url'] ?? defaultRedisUrl) : undefined,
      durationSeconds,
      ceilingDurationSeconds: numberOption('ceiling-duration', values['ceiling-duration'], durationSeconds, 1, 3_600),
      connections: numberOption('connections', values.connections, 10, 1, 1_000),
      bodyBytes: numberOption('body-bytes', values['body-bytes'], 1024, 64, 1024 * 1024),
      rate: values.rate === undefined ? undefined : numberOption('rate', values.rate, 0, 1, 1_000_000),
      workerConcurrency: values.concurrency === undefined ? undefined : numberOption('concurrency', values.concurrency, 64, 1, 10_000),
      drainTimeoutSeconds: numberOption('drain-timeout', values['drain-timeout'], 120, 1, 3_600),
      profileDir: values.profile === true ? `${outFolder}/profiles` : undefined,
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { options, outFolder } = parseOptions(args);

  // A hard limit on the whole run: the phases plus a minute of start-up and shutdown.
  const limitSeconds = options.ceilingDurationSeconds + options.durationSeconds + options.drainTimeoutSeconds + 60;
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nThe run took longer than ${limitSeconds} s; stopping every process it started.\n`);
    void stopAll(2_000).finally(() => process.exit(1));
  }, limitSeconds * 1_000);
  const interrupt = () => void stopAll(2_000).finally(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  const progress = new Progress();
  const figures = await runPipeline(options, progress);
  clearTimeout(watchdog);

  const result: BenchResult = {
    scenario: options.scenario,
    command: commandLine(args),
    startedAt,
    finishedAt: new Date().toISOString(),
    options,
    machine,
    source: describeSource(packageFolder),
    figures,
    comparison: compare(figures),
  };
  const written = writeResult(result, outFolder);
  process.stdout.write(`\n${renderTable(result)}\n\nWrote ${written.json}\nWrote ${written.markdown}\n`);
  if (options.profileDir !== undefined) {
    process.stdout.write(`CPU profiles of the Hookline processes are in ${options.profileDir}\n`);
  }
}

main().catch(async (error: unknown) => {
  process.stderr.write(`\nThe benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAll(2_000);
  process.exit(1);
});
