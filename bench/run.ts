// Benchmark harness: `npm run bench -- <scenario> [options]`. See docs/benchmarks.md.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, describeSource } from './lib/machine.js';
import { stopAll } from './lib/managed-process.js';
import { Progress } from './lib/progress.js';
import { comparePipeline, pipelineNotes, renderTable, writeResult, type BenchResult, type ComparisonRow } from './lib/report.js';
import { defaultDatabaseUrl, defaultRedisUrl } from './lib/scaled-backends.js';
import { defaultDueAfterSeconds, runBacklog } from './scenarios/backlog.js';
import { runDeliver, runWorkers } from './scenarios/composite.js';
import { runFailing } from './scenarios/failing.js';
import { runFanOut } from './scenarios/fan-out.js';
import { runPipeline, type BenchMode, type PipelineOptions } from './scenarios/pipeline.js';

const scenarios = ['ingest', 'deliver', 'fan-out', 'backlog', 'failing', 'workers', 'pipeline', 'drain'] as const;
type Scenario = (typeof scenarios)[number];
const modes: readonly BenchMode[] = ['embedded', 'scaled'];
const packageFolder = fileURLToPath(new URL('..', import.meta.url));

const usage = `Usage: npm run bench -- <scenario> [options]

Scenarios (each in the embedded mode by default, or with --mode scaled):
  ingest     Messages accepted per second over HTTP, with request latency, while the workers
             deliver them (embedded: \`hookline start\`; scaled: \`hookline api\` and --workers
             \`hookline worker\`). --api-only runs \`hookline api\` alone.
  deliver    End-to-end deliveries per second at full load, then accept-to-receipt delay
             p50/p99/max at half that rate, evenly paced. --compare-observability adds two
             full-load runs with HOOKLINE_METRICS and HOOKLINE_STATS off and on.
  fan-out    One message to 1, 10, 100 and 1,000 endpoints: time until all are delivered.
  backlog    --count deliveries (default 1,000,000) scheduled for later: time to schedule,
             RSS, store and Redis bytes per delivery, delivery rate once due.
  failing    Healthy endpoints' delivery rate with 10% of the endpoints dead (never
             responding) compared with a run without them.
  workers    A backlog drained by 1 and then 2 \`hookline worker\` processes.
  pipeline   Ingest and delivery together for --duration, then the drain (as ingest).
  drain      Fill a backlog through \`hookline api\`, then time --workers \`hookline worker\` draining it.

Ceilings measured in the same run: the bare node:http receiver under the same load, a bare
undici sender to that receiver, and bare BullMQ (scaled) or bare SQLite (embedded).

Options:
  --duration S           seconds of load against Hookline (default 10)
  --ceiling-duration S   seconds of load against the bare receiver and sender (default: --duration)
  --connections N        concurrent connections of the load generator (default 10)
  --rate N               messages per second, evenly paced over all connections (default: as many
                         as the server accepts); the receiver ceiling gets the same rate
  --body-bytes N         size of each request body in bytes (default 1024)
  --concurrency N        HOOKLINE_WORKER_CONCURRENCY of each Hookline process (default: Hookline's own)
  --set NAME=VALUE       a Hookline setting for every Hookline process; repeatable
  --mode MODE            embedded (SQLite and the embedded queue, the default) or scaled
                         (PostgreSQL and BullMQ on Redis, in a schema and key prefix of the run's own)
  --workers N            \`hookline worker\` processes (scaled mode, and drain) (default 1)
  --database-url URL     scaled mode: PostgreSQL database (default ${defaultDatabaseUrl})
  --redis-url URL        scaled mode: Redis server (default ${defaultRedisUrl})
  --drain-timeout S      longest wait for deliveries to arrive, in seconds (default 120)
  --ceiling-jobs N       jobs or rows of the bare BullMQ or SQLite ceiling; 0 skips it (default 20000)
  --sender-in-flight N   requests the bare undici sender keeps in flight (default 50)
  --api-only             ingest: run \`hookline api\` alone, with no workers
  --compare-observability  deliver: also compare HOOKLINE_METRICS and HOOKLINE_STATS off and on
  --endpoints LIST       fan-out: endpoint counts (default 1,10,100,1000); failing: endpoints in
                         all (default 20); backlog: endpoints per message (default 100)
  --repeat N             fan-out: messages per endpoint count (default 3)
  --dead-share F         failing: share of dead endpoints (default 0.1)
  --count N              backlog: deliveries to schedule (default 1000000)
  --due-after S          backlog: seconds until the scheduled deliveries come due
                         (default: count ÷ 250, at least 60)
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
  const quoted = args.map((arg) => (/^[\w./=:,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench -- ${quoted}` : `node --import tsx bench/run.ts ${quoted}`;
}

function parseSettings(entries: string[] | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const match = /^(HOOKLINE_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)=(.*)$/s.exec(entry);
    if (match === null) {
      fail(`Invalid --set "${entry}": expected NAME=VALUE with a Hookline setting name such as HOOKLINE_METRICS=off.`);
    }
    settings[match[1] ?? ''] = match[2] ?? '';
  }
  return settings;
}

interface ParsedOptions {
  scenario: Scenario;
  pipeline: PipelineOptions;
  outFolder: string;
  apiOnly: boolean;
  compareObservability: boolean;
  endpoints: string | undefined;
  repeat: number;
  deadShare: number;
  count: number;
  dueAfterSeconds: number;
}

function parseOptions(args: string[]): ParsedOptions {
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
        set: { type: 'string', multiple: true },
        mode: { type: 'string' },
        workers: { type: 'string' },
        'database-url': { type: 'string' },
        'redis-url': { type: 'string' },
        'drain-timeout': { type: 'string' },
        'ceiling-jobs': { type: 'string' },
        'sender-in-flight': { type: 'string' },
        'api-only': { type: 'boolean' },
        'compare-observability': { type: 'boolean' },
        endpoints: { type: 'string' },
        repeat: { type: 'string' },
        'dead-share': { type: 'string' },
        count: { type: 'string' },
        'due-after': { type: 'string' },
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
  for (const name of ['database-url', 'redis-url'] as const) {
    if (!scaled && values[name] !== undefined) {
      fail(`--${name} needs --mode scaled.`);
    }
  }
  if (!scaled && values.workers !== undefined && scenario !== 'drain') {
    fail('--workers needs --mode scaled (or the drain scenario).');
  }
  const only = (name: keyof typeof values, allowed: Scenario[]) => {
    if (values[name] !== undefined && !allowed.includes(scenario as Scenario)) {
      fail(`--${name} applies to ${allowed.join(', ')} only.`);
    }
  };
  only('api-only', ['ingest']);
  only('compare-observability', ['deliver']);
  only('endpoints', ['fan-out', 'failing', 'backlog']);
  only('repeat', ['fan-out']);
  only('dead-share', ['failing']);
  only('count', ['backlog']);
  only('due-after', ['backlog']);

  const deadShare = values['dead-share'] === undefined ? 0.1 : Number(values['dead-share']);
  if (!(deadShare > 0 && deadShare < 1)) {
    fail(`Invalid --dead-share "${values['dead-share']}": expected a number between 0 and 1.`);
  }
  const count = numberOption('count', values.count, 1_000_000, 1, 100_000_000);
  const durationSeconds = numberOption('duration', values.duration, 10, 1, 3_600);
  const outFolder = resolve(values.out ?? `${packageFolder}/bench/results`);
  let internalScenario: 'drain' | 'api' | 'pipeline' = 'pipeline';
  if (scenario === 'drain' || scenario === 'workers') {
    internalScenario = 'drain';
  } else if (scenario === 'ingest' && values['api-only'] === true) {
    internalScenario = 'api';
  }
  return {
    scenario: scenario as Scenario,
    outFolder,
    apiOnly: values['api-only'] === true,
    compareObservability: values['compare-observability'] === true,
    endpoints: values.endpoints,
    repeat: numberOption('repeat', values.repeat, 3, 1, 100),
    deadShare,
    count,
    dueAfterSeconds: numberOption('due-after', values['due-after'], defaultDueAfterSeconds(count), 5, 86_400),
    pipeline: {
      scenario: internalScenario,
      mode: mode as BenchMode,
      workers: numberOption('workers', values.workers, 1, 1, 64),
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
      settings: parseSettings(values.set),
      ceilingJobs: numberOption('ceiling-jobs', values['ceiling-jobs'], 20_000, 0, 10_000_000),
      senderInFlight: numberOption('sender-in-flight', values['sender-in-flight'], 50, 1, 10_000),
    },
  };
}

function parseList(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) {
    return fallback;
  }
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value < 1 || value > 100_000)) {
    fail(`Invalid --endpoints "${text}": expected whole numbers from 1 to 100000, separated by commas.`);
  }
  return values;
}

/** Hard limit on a whole run, so a stuck phase never leaves processes behind. */
function timeLimitSeconds(parsed: ParsedOptions): number {
  const { pipeline } = parsed;
  const one = pipeline.ceilingDurationSeconds * 2 + pipeline.durationSeconds + pipeline.drainTimeoutSeconds + 120;
  switch (parsed.scenario) {
    case 'deliver':
      return one * (parsed.compareObservability ? 4 : 2);
    case 'workers':
    case 'failing':
      return one * 2;
    case 'fan-out':
      return parseList(parsed.endpoints, [1, 10, 100, 1_000]).length * (parsed.repeat + 1) * (pipeline.drainTimeoutSeconds + 60) + 300;
    case 'backlog':
      return parsed.dueAfterSeconds * 1.5 + pipeline.drainTimeoutSeconds + parsed.count / 50 + 600;
    default:
      return one;
  }
}

async function runScenario(parsed: ParsedOptions, progress: Progress): Promise<{ figures: unknown; comparison: ComparisonRow[]; notes: string[] }> {
  const { pipeline } = parsed;
  switch (parsed.scenario) {
    case 'deliver':
      return runDeliver(pipeline, parsed.compareObservability, progress);
    case 'workers':
      return runWorkers(pipeline, progress);
    case 'fan-out':
      return runFanOut({ ...pipeline, endpointCounts: parseList(parsed.endpoints, [1, 10, 100, 1_000]), repeat: parsed.repeat }, progress);
    case 'failing':
      return runFailing({ ...pipeline, endpoints: parseList(parsed.endpoints, [20])[0] ?? 20, deadShare: parsed.deadShare }, progress);
    case 'backlog':
      return runBacklog({ ...pipeline, count: parsed.count, endpoints: parseList(parsed.endpoints, [100])[0] ?? 100, dueAfterSeconds: parsed.dueAfterSeconds }, progress);
    default: {
      const figures = await runPipeline(pipeline, progress);
      return { figures, comparison: comparePipeline(figures), notes: pipelineNotes(pipeline, figures) };
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const parsed = parseOptions(args);

  const limitSeconds = timeLimitSeconds(parsed);
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
  const { figures, comparison, notes } = await runScenario(parsed, progress);
  clearTimeout(watchdog);

  const scenarioOptions = {
    ...(parsed.scenario === 'ingest' ? { apiOnly: parsed.apiOnly } : {}),
    ...(parsed.scenario === 'deliver' ? { compareObservability: parsed.compareObservability } : {}),
    ...(parsed.scenario === 'fan-out' ? { endpoints: parsed.endpoints ?? '1,10,100,1000', repeat: parsed.repeat } : {}),
    ...(parsed.scenario === 'failing' ? { endpoints: parsed.endpoints ?? '20', deadShare: parsed.deadShare } : {}),
    ...(parsed.scenario === 'backlog' ? { endpoints: parsed.endpoints ?? '100', count: parsed.count, dueAfterSeconds: parsed.dueAfterSeconds } : {}),
  };
  const result: BenchResult = {
    scenario: parsed.scenario,
    command: commandLine(args),
    startedAt,
    finishedAt: new Date().toISOString(),
    options: { ...parsed.pipeline, ...scenarioOptions },
    machine,
    source: describeSource(packageFolder),
    figures,
    comparison,
    notes,
  };
  const written = writeResult(result, parsed.outFolder);
  process.stdout.write(`\n${renderTable(result)}\n\nWrote ${written.json}\nWrote ${written.markdown}\n`);
  if (parsed.pipeline.profileDir !== undefined) {
    process.stdout.write(`CPU profiles of the Hookline processes are in ${parsed.pipeline.profileDir}\n`);
  }
}

main().catch(async (error: unknown) => {
  process.stderr.write(`\nThe benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAll(2_000);
  process.exit(1);
});
