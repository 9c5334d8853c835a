import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineFigures, PipelineOptions } from '../scenarios/pipeline.js';
import type { MachineFacts, SourceFacts } from './machine.js';
import { round } from './percentiles.js';

/** Everything one run wrote, as stored in bench/results/<scenario>-<timestamp>.json. */
export interface BenchResult {
  scenario: string;
  /** The command that produced this result, to run it again. */
  command: string;
  startedAt: string;
  finishedAt: string;
  options: PipelineOptions;
  machine: MachineFacts;
  source: SourceFacts;
  figures: PipelineFigures;
  comparison: ComparisonRow[];
}

/** One Hookline figure beside the same figure measured on the bare server. */
export interface ComparisonRow {
  figure: string;
  unit: string;
  hookline: number | undefined;
  ceiling: number | undefined;
  /** hookline ÷ ceiling: below 1 for rates means slower, above 1 for latencies means slower. */
  ratio: number | undefined;
}

function row(figure: string, unit: string, hookline: number | undefined, ceiling: number | undefined): ComparisonRow {
  const ratio = hookline !== undefined && ceiling !== undefined && ceiling > 0 ? round(hookline / ceiling, 3) : undefined;
  return { figure, unit, hookline, ceiling, ratio };
}

/**
 * Lines up each Hookline figure with its ceiling. A delivery is one request from Hookline to
 * the receiver, so the bare server's request rate is the ceiling of deliveries per second
 * too, and its request latency is the floor of the accept-to-receipt delay.
 */
export function compare(figures: PipelineFigures): ComparisonRow[] {
  const { ceiling, ingest, delivery } = figures;
  const rows = [
    row('messages accepted', 'per s', ingest.acceptedPerSecond, ceiling.acceptedPerSecond),
    row('request latency p50', 'ms', ingest.latency.p50, ceiling.latency.p50),
    row('request latency p99', 'ms', ingest.latency.p99, ceiling.latency.p99),
  ];
  if (delivery !== undefined) {
    if (delivery.duringIngestPerSecond !== undefined) {
      rows.push(row('deliveries during ingest', 'per s', delivery.duringIngestPerSecond, ceiling.acceptedPerSecond));
    }
    rows.push(
      row('deliveries after ingest', 'per s', delivery.afterIngestPerSecond, ceiling.acceptedPerSecond),
      row('time to drain backlog', 's', delivery.drainSeconds, undefined),
      row('accept-to-receipt p50', 'ms', delivery.delay.p50, ceiling.latency.p50),
      row('accept-to-receipt p99', 'ms', delivery.delay.p99, ceiling.latency.p99),
      row('accept-to-receipt max', 'ms', delivery.delay.max, ceiling.latency.max),
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
    formatRatio(entry.ratio),
  ]);
}

const headings = ['figure', 'unit', 'Hookline', 'ceiling', 'Hookline ÷ ceiling'];

function formatCores(value: number | undefined): string {
  return value === undefined ? '—' : value.toFixed(2);
}

/** Names the mode and, in the scaled mode, the worker processes, as in "scaled mode, 2 worker processes". */
function describeMode(options: BenchResult['options']): string {
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

function notes(result: BenchResult): string[] {
  const { figures, options } = result;
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
  return lines;
}

/** Renders the comparison as an aligned plain-text table with the command and notes below it. */
export function renderTable(result: BenchResult): string {
  const cells = [headings, ...tableCells(result)];
  const widths = headings.map((_, column) => Math.max(...cells.map((line) => (line[column] ?? '').length)));
  const render = (line: string[]) =>
    line.map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ');

  return [
    `Scenario ${result.scenario} (${describeMode(result.options)}) on ${result.machine.cores} cores, Node ${result.machine.node}, load average ${result.machine.loadAverage.join(' ')} at the start`,
    '',
    render(headings),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...cells.slice(1).map(render),
    '',
    ...notes(result),
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
    `| --- | --- | ---: | ---: | ---: |`,
    ...tableCells(result).map((cells) => `| ${cells.join(' | ')} |`),
    '',
    ...notes(result).map((line) => `- ${line}`),
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
