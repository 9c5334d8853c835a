import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Checks only that a short run completes and writes its result; figures are not asserted.
const runPath = fileURLToPath(new URL('../bench/run.ts', import.meta.url));

test('pipeline benchmark writes a result', () => {
  const outFolder = mkdtempSync(join(tmpdir(), 'hookline-bench-smoke-'));
  try {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', runPath, 'pipeline', '--duration', '2', '--ceiling-duration', '1', '--drain-timeout', '30', '--out', outFolder],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(run.status, 0, `the benchmark failed:\n${run.stderr}`);

    const files = readdirSync(outFolder).sort();
    const jsonFile = files.find((file) => /^pipeline-.+\.json$/.test(file));
    assert.ok(jsonFile, `no JSON result among ${files.join(', ')}`);
    assert.ok(files.includes(jsonFile.replace(/\.json$/, '.md')), 'no markdown summary beside the JSON result');

    const result = JSON.parse(readFileSync(join(outFolder, jsonFile), 'utf8')) as Record<string, any>;
    for (const key of ['scenario', 'command', 'startedAt', 'finishedAt', 'options', 'machine', 'source', 'figures', 'comparison']) {
      assert.ok(key in result, `result has no ${key}`);
    }
    assert.equal(result.scenario, 'pipeline');
    for (const key of ['ceiling', 'ingest', 'delivery', 'cpu', 'timeline']) {
      assert.ok(key in result.figures, `figures have no ${key}`);
    }
    assert.ok(result.figures.ingest.accepted > 0, 'no message was accepted');
    assert.ok(result.figures.delivery.received > 0, 'no message was delivered');
    assert.equal(typeof result.machine.cores, 'number');
    assert.equal(typeof result.source.dependencies.fastify, 'string');
  } finally {
    rmSync(outFolder, { recursive: true, force: true });
  }
});
