// Summarizes a V8 CPU profile (.cpuprofile, as written by `node --cpu-prof` or
// `npm run bench -- <scenario> --profile`): where the process spent its time, by area
// and by function.
// Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * Names the area a function belongs to: a Hookline folder (`hookline src/queue`), a
 * dependency (`fastify`), Node's own code, or one of V8's pseudo-frames such as
 * `(garbage collector)` and `(idle)`.
 */
function areaOf(url: string, functionName: string): string {
  if (url === '') {
    return functionName.startsWith('(') ? functionName : '(native)';
  }
  if (url.startsWith('node:')) {
    return 'node internals';
  }
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency?.[1] !== undefined) {
    return dependency[1];
  }
  const source = /\/dist\/([^/]+)\//.exec(url) ?? /\/src\/([^/]+)\//.exec(url);
  if (source?.[1] !== undefined) {
    return `hookline src/${source[1]}`;
  }
  return url;
}

function functionKey(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/(node_modules|dist|src)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file}${url === '' ? '' : `:${lineNumber + 1}`}`;
}

interface Entry {
  name: string;
  milliseconds: number;
}

function sortedEntries(totals: Map<string, number>, limit: number): Entry[] {
  return [...totals.entries()]
    .map(([name, microseconds]) => ({ name, milliseconds: microseconds / 1_000 }))
    .sort((a, b) => b.milliseconds - a.milliseconds)
    .slice(0, limit);
}

/**
 * Adds up sample time three ways: self time by area, self time by function, and total
 * time (self plus callees) by Hookline function, counting recursive frames once.
 */
function summarizeProfile(profile: CpuProfile, limit = 20) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parentOf.set(child, node.id);
    }
  }

  const selfByArea = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const totalByHooklineFunction = new Map<string, number>();
  let busyMicroseconds = 0;
  let allMicroseconds = 0;

  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[index] ?? 0;
    if (node === undefined) {
      return;
    }
    allMicroseconds += delta;
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    if (area !== '(idle)') {
      busyMicroseconds += delta;
    }
    selfByArea.set(area, (selfByArea.get(area) ?? 0) + delta);
    selfByFunction.set(functionKey(node), (selfByFunction.get(functionKey(node)) ?? 0) + delta);

    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current);
      if (frame === undefined || !areaOf(frame.callFrame.url, '').startsWith('hookline')) {
        continue;
      }
      const key = functionKey(frame);
      if (!seen.has(key)) {
        seen.add(key);
        totalByHooklineFunction.set(key, (totalByHooklineFunction.get(key) ?? 0) + delta);
      }
    }
  });

  return {
    wallMilliseconds: (profile.endTime - profile.startTime) / 1_000,
    sampledMilliseconds: allMicroseconds / 1_000,
    busyMilliseconds: busyMicroseconds / 1_000,
    selfByArea: sortedEntries(selfByArea, limit),
    selfByFunction: sortedEntries(selfByFunction, limit),
    totalByHooklineFunction: sortedEntries(totalByHooklineFunction, limit),
  };
}

function printTable(title: string, entries: Entry[], sampledMilliseconds: number): void {
  process.stdout.write(`\n${title}\n`);
  for (const entry of entries) {
    const share = sampledMilliseconds > 0 ? (100 * entry.milliseconds) / sampledMilliseconds : 0;
    process.stdout.write(`${entry.milliseconds.toFixed(0).padStart(8)} ms ${share.toFixed(1).padStart(5)}%  ${entry.name}\n`);
  }
}

function main(): void {
  // Piping into `head` closes stdout early, which is not an error here.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write('Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }

  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const summary = summarizeProfile(profile, Number(values.top ?? 20));
  process.stdout.write(
    `${file}\nwall ${summary.wallMilliseconds.toFixed(0)} ms, sampled ${summary.sampledMilliseconds.toFixed(0)} ms, ` +
      `busy ${summary.busyMilliseconds.toFixed(0)} ms (percentages below are shares of the sampled time; ` +
      `"(idle)" is the event loop waiting for work)\n`,
  );
  printTable('Self time by area', summary.selfByArea, summary.sampledMilliseconds);
  printTable('Self time by function', summary.selfByFunction, summary.sampledMilliseconds);
  printTable('Total time (self + callees) by Hookline function', summary.totalByHooklineFunction, summary.sampledMilliseconds);
}

main();
