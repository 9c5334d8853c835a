import { round } from '../lib/percentiles.js';
import type { Progress } from '../lib/progress.js';
import { comparePipeline, describeMode, pipelineNotes, row, type ComparisonRow } from '../lib/report.js';
import { runPipeline, type PipelineFigures, type PipelineOptions } from './pipeline.js';

export interface DeliverFigures {
  full: PipelineFigures;
  half: PipelineFigures | undefined;
  /** Offered rate of the half-load run: half the full run's end-to-end delivery rate. */
  halfRate: number | undefined;
  /** Full-load runs with the observability settings off and on, when asked for. */
  observability: { off: PipelineFigures; on: PipelineFigures } | undefined;
}

const observabilityOff = { HOOKLINE_METRICS: 'off', HOOKLINE_STATS: 'off' };
const observabilityOn = { HOOKLINE_METRICS: 'on', HOOKLINE_STATS: 'on' };

function percentChange(after: number | undefined, before: number | undefined): string {
  if (after === undefined || before === undefined || before === 0) {
    return '—';
  }
  const change = ((after - before) / before) * 100;
  return `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`;
}

/**
 * `deliver`: a full-load run (ingest as fast as Hookline accepts while it delivers, then the
 * drain) gives the end-to-end delivery rate. A second run offers half that rate, evenly
 * paced, and measures the accept-to-receipt delay. With `compareObservability`, two more
 * full-load runs with HOOKLINE_METRICS and HOOKLINE_STATS off and then on give their cost.
 */
export async function runDeliver(
  options: PipelineOptions,
  compareObservability: boolean,
  progress: Progress,
): Promise<{ figures: DeliverFigures; comparison: ComparisonRow[]; notes: string[] }> {
  const base: PipelineOptions = { ...options, scenario: 'pipeline' };
  progress.log('deliver: full load');
  const full = await runPipeline({ ...base, rate: undefined }, progress);
  const fullRate = full.delivery?.endToEndPerSecond;
  const halfRate = fullRate === undefined ? undefined : Math.max(1, Math.floor(fullRate / 2));
  let half: PipelineFigures | undefined;
  if (halfRate !== undefined) {
    progress.log(`deliver: half load, ${halfRate} messages/s evenly paced`);
    half = await runPipeline({ ...base, rate: halfRate, connections: Math.max(base.connections, 50), ceilingJobs: 0 }, progress);
  }
  let observability: DeliverFigures['observability'];
  if (compareObservability) {
    progress.log('deliver: full load with HOOKLINE_METRICS and HOOKLINE_STATS off');
    const off = await runPipeline({ ...base, rate: undefined, ceilingJobs: 0, settings: { ...base.settings, ...observabilityOff } }, progress);
    progress.log('deliver: full load with HOOKLINE_METRICS and HOOKLINE_STATS on');
    const on = await runPipeline({ ...base, rate: undefined, ceilingJobs: 0, settings: { ...base.settings, ...observabilityOn } }, progress);
    observability = { off, on };
  }

  const comparison = [...comparePipeline(full, 'full load')];
  const notes = pipelineNotes({ ...base, rate: undefined }, full).map((line) => `Full load: ${line}`);
  if (half !== undefined && halfRate !== undefined) {
    comparison.push(...comparePipeline(half, `half load (${halfRate}/s)`));
    notes.push(...pipelineNotes({ ...base, rate: halfRate, connections: Math.max(base.connections, 50) }, half).map((line) => `Half load: ${line}`));
    notes.push('At half load, the ceiling is the bare receiver under the same evenly paced rate, so its latencies are those of one unloaded request.');
  }
  if (observability !== undefined) {
    const { off, on } = observability;
    comparison.push(
      row('observability on: deliveries end to end', 'per s', on.delivery?.endToEndPerSecond, off.delivery?.endToEndPerSecond, 'same run with it off'),
      row('observability on: messages accepted', 'per s', on.ingest.acceptedPerSecond, off.ingest.acceptedPerSecond, 'same run with it off'),
    );
    notes.push(
      `HOOKLINE_METRICS and HOOKLINE_STATS on versus off: deliveries end to end ${percentChange(on.delivery?.endToEndPerSecond, off.delivery?.endToEndPerSecond)}, ` +
        `messages accepted ${percentChange(on.ingest.acceptedPerSecond, off.ingest.acceptedPerSecond)}, ` +
        `Hookline cores during ingest ${on.cpu.ingest.hookline ?? '—'} versus ${off.cpu.ingest.hookline ?? '—'}.`,
    );
  }
  return { figures: { full, half, halfRate, observability }, comparison, notes };
}

export interface WorkersFigures {
  one: PipelineFigures;
  two: PipelineFigures;
}

/**
 * `workers`: fills a backlog through `hookline api`, then times one and, on a fresh backlog,
 * two `hookline worker` processes draining it (the `drain` run of each).
 */
export async function runWorkers(options: PipelineOptions, progress: Progress): Promise<{ figures: WorkersFigures; comparison: ComparisonRow[]; notes: string[] }> {
  progress.log('workers: 1 worker process');
  const one = await runPipeline({ ...options, scenario: 'drain', workers: 1 }, progress);
  progress.log('workers: 2 worker processes');
  const two = await runPipeline({ ...options, scenario: 'drain', workers: 2, ceilingJobs: 0 }, progress);
  const comparison = [
    ...comparePipeline(one, '1 worker'),
    ...comparePipeline(two, '2 workers'),
    row('2 workers: deliveries end to end', 'per s', two.delivery?.endToEndPerSecond, one.delivery?.endToEndPerSecond, '1 worker process'),
  ];
  const scaling = one.delivery?.endToEndPerSecond && two.delivery?.endToEndPerSecond ? round(two.delivery.endToEndPerSecond / one.delivery.endToEndPerSecond, 2) : undefined;
  const notes = [
    `${describeMode({ ...options, workers: 2 }).replace('2 worker processes', '1 and then 2 worker processes')}; each run fills its own backlog for ${options.durationSeconds} s, then the workers drain it.`,
    `Two worker processes deliver ${scaling ?? '—'}× what one does.`,
    ...pipelineNotes({ ...options, scenario: 'drain', workers: 1 }, one).map((line) => `1 worker: ${line}`),
    ...pipelineNotes({ ...options, scenario: 'drain', workers: 2 }, two).map((line) => `2 workers: ${line}`),
  ];
  return { figures: { one, two }, comparison, notes };
}
