import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Runs the compiled CLI, as users do; `npm test` builds dist/ before the tests.
const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

test('start with HOOKLINE_PORT=abc exits naming it', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-config-'));
  try {
    const result = spawnSync(process.execPath, [cliPath, 'start'], {
      env: { PATH: process.env.PATH, HOOKLINE_PORT: 'abc', HOOKLINE_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 20_000,
    });

    assert.equal(result.error, undefined);
    assert.notEqual(result.status, 0, `exited with ${result.status}; stderr: ${result.stderr}`);
    assert.equal(result.signal, null);
    assert.match(result.stderr, /HOOKLINE_PORT="abc" is invalid/);
    assert.deepEqual(readdirSync(dataDir), [], 'start-up wrote to the data folder before validating');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
