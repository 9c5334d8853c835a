import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const demoPath = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url));
const timeoutMs = 60_000;

test('demo script exits 0', { timeout: timeoutMs + 5_000 }, async () => {
  // The demo runs the compiled CLI, which `npm test` builds before the tests.
  const child = spawn(process.execPath, ['--import', 'tsx', demoPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));

  const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);

  const text = output.join('');
  assert.equal(code, 0, text);
  assert.match(text, /All 6 messages delivered, \d+ requests received, every signature verified\./);
  assert.match(text, /^trap\.diffuse +msg_\S+ +ep_\S+ +2 +success +2\/2$/m, 'the retried message');
});
