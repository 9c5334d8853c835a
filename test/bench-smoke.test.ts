import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Checks only that short runs complete and write their results; figures are not asserted.
const runPath = fileURLToPath(new URL('../bench/run.ts', import.meta.url));

function runBench(scenario: string, args: string[]): { result: Record<string, any>; markdown: string } {
  const outFolder = mkdtempSync(join(tmpdir(), 'hookline-bench-smoke-'));
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', runPath, scenario, ...args, '--out', outFolder], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, `the benchmark failed:\n${run.stderr}`);

    const files = readdirSync(outFolder).sort();
    const jsonFile = files.find((file) => file.startsWith(`${scenario}-`) && file.endsWith('.json'));
    assert.ok(jsonFile, `no JSON result among ${files.join(', ')}`);
    const markdownFile = jsonFile.replace(/\.json$/, '.md');
    assert.ok(files.includes(markdownFile), 'no markdown summary beside the JSON result');

    const result = JSON.parse(readFileSync(join(outFolder, jsonFile), 'utf8')) as Record<string, any>;
    for (const key of ['scenario', 'command', 'startedAt', 'finishedAt', 'options', 'machine', 'source', 'figures', 'comparison', 'notes']) {
      assert.ok(key in result, `result has no ${key}`);
    }
    assert.equal(result.scenario, scenario);
    assert.equal(typeof result.machine.cores, 'number');
    assert.equal(typeof result.source.dependencies.fastify, 'string');
    assert.match(result.command, new RegExp(`bench/run\\.ts ${scenario} `));
    return { result, markdown: readFileSync(join(outFolder, markdownFile), 'utf8') };
  } finally {
    rmSync(outFolder, { recursive: true, force: true });
  }
}

test('pipeline benchmark writes a result with its ceilings and a setting passed through', () => {
  const { result, markdown } = runBench('pipeline', [
    '--duration', '2', '--ceiling-duration', '1', '--ceiling-jobs', '2000', '--drain-timeout', '30', '--set', 'HOOKLINE_QUEUE_POLL_INTERVAL=500ms',
  ]);
  for (const key of ['ceiling', 'senderCeiling', 'storeCeiling', 'ingest', 'delivery', 'cpu', 'timeline']) {
    assert.ok(key in result.figures, `figures have no ${key}`);
  }
  assert.ok(result.figures.ingest.accepted > 0, 'no message was accepted');
  assert.ok(result.figures.delivery.received > 0, 'no message was delivered');
  assert.ok(result.figures.senderCeiling.requests > 0, 'the bare sender sent nothing');
  assert.equal(result.figures.storeCeiling.kind, 'sqlite');
  assert.deepEqual(result.options.settings, { HOOKLINE_QUEUE_POLL_INTERVAL: '500ms' });
  const ceilings = new Set(result.comparison.map((row: { ceilingName: string }) => row.ceilingName));
  for (const name of ['bare node:http receiver', 'bare undici sender', 'bare SQLite, 1 row per transaction']) {
    assert.ok(ceilings.has(name), `no figure is compared with the ${name}`);
  }
  assert.match(markdown, /\| deliveries end to end \| per s \|/);
});

test('fan-out benchmark times one message to every endpoint', () => {
  const { result } = runBench('fan-out', ['--endpoints', '1,5', '--repeat', '1', '--drain-timeout', '30']);
  const points = result.figures.points as { endpoints: number; seconds: number[]; incomplete: number }[];
  assert.deepEqual(
    points.map((point) => point.endpoints),
    [1, 5],
  );
  for (const point of points) {
    assert.equal(point.incomplete, 0, `a message to ${point.endpoints} endpoints was not delivered to all`);
    assert.equal(point.seconds.length, 1);
  }
});
