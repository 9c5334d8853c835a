import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineFigures, PipelineOptions } from '../scenarios/pipeline.js';
import type { MachineFacts, SourceFacts } from './machine.js';
import { round } from './percentiles.js';

/** Options every scenario shares; scenarios add their own. */
export interface CommonOptions {
  mode: 'embedded' | 'scaled';
  workers: number;
}

/** Everything one run wrote, as stored in bench/results/<scenario>-<timestamp>.json. */
export interface BenchResult {
  scenario: string;
  /** The command that produced this result, to run it again. */
  command: string;
  startedAt: string;
  finishedAt: string;
  options: CommonOptions & Record<string, unknown>;
  machine: MachineFacts;
  source: SourceFacts;
  figures: unknown;
  comparison: ComparisonRow[];
  /** Lines printed below the table: the conditions of the run and what its figures mean. */
  notes: string[];
}

/** One Hookline figure beside its ceiling, measured in the same run. */
export interface ComparisonRow {
  figure: string;
  unit: string;
  hookline: number | undefined;
  ceiling: number | undefined;
  /** Name of the ceiling, such as "bare node:http receiver". */
  ceilingName: string;
  /** hookline ÷ ceiling: below 1 for rates means slower, above 1 for times and sizes means more. */
  ratio: number | undefined;
}

export function row(figure: string, unit: string, hookline: number | undefined, ceiling: number | undefined, ceilingName = ''): ComparisonRow {
  const ratio = hookline !== undefined && ceiling !== undefined && ceiling > 0 ? round(hookline / ceiling, 3) : undefined;
  return { figure, unit, hookline, ceiling, ceilingName: ceiling === undefined ? '' : ceilingName, ratio };
}

const receiverCeiling = 'bare node:http receiver';
const senderCeilingName = 'bare undici sender';

/**
 * Lines up each Hookline figure with its ceiling. The bare receiver's request rate is the
 * ceiling of accepted messages and its latency the floor of request latency and of the
 * accept-to-receipt delay. The bare undici sender's rate is the ceiling of deliveries, and
 * bare SQLite or BullMQ the ceiling of what the store or queue can write and run.
 * `label` prefixes every figure, so runs of one scenario can share a table.
 */
export function comparePipeline(figures: PipelineFigures, label = ''): ComparisonRow[] {
  const { ceiling, senderCeiling, storeCeiling, ingest, delivery } = figures;
  const name = (text: string) => (label === '' ? text : `${label}: ${text}`);
  const rows = [
    row(name('messages accepted'), 'per s', ingest.acceptedPerSecond, ceiling.acceptedPerSecond, receiverCeiling),
  ];
  if (storeCeiling?.kind === 'sqlite') {
    rows.push(row(name('messages accepted'), 'per s', ingest.acceptedPerSecond, storeCeiling.rowPerTransactionPerSecond, 'bare SQLite, 1 row per transaction'));
  } else if (storeCeiling?.kind === 'bullmq') {
    rows.push(row(name('messages accepted'), 'per s', ingest.acceptedPerSecond, storeCeiling.addPerSecond, 'bare BullMQ addBulk'));
  }
  rows.push(
    row(name('request latency p50'), 'ms', ingest.latency.p50, ceiling.latency.p50, receiverCeiling),
    row(name('request latency p99'), 'ms', ingest.latency.p99, ceiling.latency.p99, receiverCeiling),
  );
  if (delivery !== undefined) {
    const senderRate = senderCeiling?.perSecond;
    rows.push(row(name('deliveries end to end'), 'per s', delivery.endToEndPerSecond, senderRate, senderCeilingName));
    if (storeCeiling?.kind === 'bullmq') {
      rows.push(row(name('deliveries end to end'), 'per s', delivery.endToEndPerSecond, storeCeiling.processPerSecond, 'bare BullMQ process'));
    }
    if (delivery.duringIngestPerSecond !== undefined) {
      rows.push(row(name('deliveries during ingest'), 'per s', delivery.duringIngestPerSecond, senderRate, senderCeilingName));
    }
    rows.push(
      row(name('deliveries after ingest'), 'per s', delivery.afterIngestPerSecond, senderRate, senderCeilingName),
      row(name('time to drain backlog'), 's', delivery.drainSeconds, undefined),
      row(name('Hookline CPU per delivered message'), 'ms', delivery.cpuMsPerMessage, undefined),
      row(name('accept-to-receipt p50'), 'ms', delivery.delay.p50, ceiling.latency.p50, receiverCeiling),
      row(name('accept-to-receipt p99'), 'ms', delivery.delay.p99, ceiling.latency.p99, receiverCeiling),
      row(name('accept-to-receipt max'), 'ms', delivery.delay.max, ceiling.latency.max, receiverCeiling),
    );
  }
  return rows;
}

function formatNumber(value: number | undefined): string {
  if (value === undefined) {
    return '—';
  }
  return value.toLocaleString('en-US', { maximumFractionDigits: value >= 100 ? 0 : 2 });
}

function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) {
    return '—';
  }
  const decimals = ratio >= 100 ? 0 : ratio >= 10 ? 1 : 3;
  return `${ratio.toLocaleString('en-US', { maximumFractionDigits: decimals })}×`;
}

function tableCells(result: BenchResult): string[][] {
  return result.comparison.map((entry) => [
    entry.figure,
    entry.unit,
    formatNumber(entry.hookline),
    formatNumber(entry.ceiling),
    entry.ceilingName,
    formatRatio(entry.ratio),
  ]);
}

const headings = ['figure', 'unit', 'Hookline', 'ceiling', 'ceiling is', 'Hookline ÷ ceiling'];
/** Columns aligned left in the plain-text table; the others are numbers. */
const leftColumns = new Set([0, 1, 4]);

function formatCores(value: number | undefined): string {
  return value === undefined ? '—' : value.toFixed(2);
}

/** Names the mode and, in the scaled mode, the worker processes, as in "scaled mode, 2 worker processes". */
export function describeMode(options: CommonOptions): string {
  // Results written before the scaled mode existed have no mode.
  if (options.mode !== 'scaled') {
    return 'embedded mode';
  }
  return `scaled mode, ${options.workers} worker process${options.workers === 1 ? '' : 'es'}`;
}

/** Formats the cores of all Hookline processes, followed by each one's share when there are several. */
function formatHooklineCores(total: number | undefined, byProcess: Record<string, number | undefined> | undefined): string {
  const entries = Object.entries(byProcess ?? {});
  if (entries.length < 2) {
    return formatCores(total);
  }
  return `${formatCores(total)} (${entries.map(([name, cores]) => `${name} ${formatCores(cores)}`).join(', ')})`;
}

/** Notes of a `pipeline`, `api` or `drain` run: its conditions, request counts and CPU use. */
export function pipelineNotes(options: PipelineOptions, figures: PipelineFigures): string[] {
  const { ingest, drain } = figures.cpu;
  const lines = [
    `${describeMode(options)}, ${options.connections} connections, ${options.rate === undefined ? 'no rate limit' : `offered rate ${options.rate}/s`}, ` +
      `${options.bodyBytes}-byte bodies, ingest ${options.durationSeconds} s, ceiling ${options.ceilingDurationSeconds} s.`,
    `Requests: ${figures.ingest.accepted.toLocaleString('en-US')} accepted, ${figures.ingest.non2xx} non-2xx, ${figures.ingest.errors} errors.`,
    `CPU cores busy during ingest: Hookline ${formatHooklineCores(ingest.hookline, ingest.hooklineByProcess)}, receiver ${formatCores(ingest.receiver)}, load generator ${formatCores(ingest.loadGenerator)}.`,
  ];
  if (ingest.services !== undefined) {
    lines.push(`CPU cores busy during ingest, all processes of each server on the machine: PostgreSQL ${formatCores(ingest.services.postgres)}, Redis ${formatCores(ingest.services.redis)}.`);
  }
  if (drain !== undefined) {
    lines.push(`CPU cores busy while draining: Hookline ${formatHooklineCores(drain.hookline, drain.hooklineByProcess)}, receiver ${formatCores(drain.receiver)}.`);
    if (drain.services !== undefined) {
      lines.push(`CPU cores busy while draining, all processes of each server on the machine: PostgreSQL ${formatCores(drain.services.postgres)}, Redis ${formatCores(drain.services.redis)}.`);
    }
  }
  if (figures.delivery !== undefined) {
    const { delivery } = figures;
    lines.push(
      `Deliveries: ${delivery.uniqueMessages.toLocaleString('en-US')} of ${delivery.backlog.toLocaleString('en-US')} accepted messages arrived` +
        `${delivery.drained ? '' : ' (NOT drained within the drain timeout)'}, ${delivery.duplicates} duplicates.`,
    );
    if (delivery.drained && delivery.drainSeconds === 0) {
      lines.push('Delivery kept up with ingest: nothing was left to drain when ingest ended.');
    }
  }
  const rss = Object.entries(figures.hooklinePeakRssBytes).map(([name, bytes]) => `${name} ${bytes === undefined ? '—' : `${Math.round(bytes / 1024 ** 2)} MiB`}`);
  if (rss.length > 0) {
    lines.push(`Peak resident memory: ${rss.join(', ')}.`);
  }
  const settings = Object.entries(options.settings ?? {});
  if (settings.length > 0) {
    lines.push(`Hookline settings: ${settings.map(([name, value]) => `${name}=${value}`).join(' ')}.`);
  }
  return lines;
}

/** Renders the comparison as an aligned plain-text table with the command and notes below it. */
export function renderTable(result: BenchResult): string {
  const cells = [headings, ...tableCells(result)];
  const widths = headings.map((_, column) => Math.max(...cells.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line.map((cell, column) => (leftColumns.has(column) ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');

  return [
    `Scenario ${result.scenario} (${describeMode(result.options)}) on ${result.machine.cores} cores, Node ${result.machine.node}, load average ${result.machine.loadAverage.join(' ')} at the start`,
    '',
    render(headings),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...cells.slice(1).map(render),
    '',
    ...result.notes,
    '',
    `Command: ${result.command}`,
  ].join('\n');
}

/** Renders the summary that is written next to the JSON result. */
export function renderMarkdown(result: BenchResult): string {
  const { machine, source } = result;
  const gigabytes = (machine.memoryBytes / 1024 ** 3).toFixed(1);
  return [
    `# Benchmark ${result.scenario} (${describeMode(result.options)}), ${result.startedAt}`,
    '',
    `Command: \`${result.command}\``,
    '',
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${gigabytes} GiB memory, ${machine.os}, Node ${machine.node}; load average ${machine.loadAverage.join(' ')} at the start.`,
    `Commit: ${source.commit ?? 'unknown'}${source.dirty === true ? ' with uncommitted changes' : ''}.`,
    '',
    `| ${headings.join(' | ')} |`,
    `| --- | --- | ---: | ---: | --- | ---: |`,
    ...tableCells(result).map((cells) => `| ${cells.join(' | ')} |`),
    '',
    ...result.notes.map((line) => `- ${line}`),
    '',
  ].join('\n');
}

/** Writes the JSON result and the markdown summary into `folder`; returns both paths. */
export function writeResult(result: BenchResult, folder: string): { json: string; markdown: string } {
  mkdirSync(folder, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const base = join(folder, `${result.scenario}-${stamp}`);
  const json = `${base}.json`;
  const markdown = `${base}.md`;
  // Options left at their defaults are undefined; null keeps them visible in the file.
  writeFileSync(json, `${JSON.stringify(result, (_key, value: unknown) => (value === undefined ? null : value), 2)}\n`);
  writeFileSync(markdown, renderMarkdown(result));
  return { json, markdown };
}
