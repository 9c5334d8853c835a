// Runs every test file under test/ with Node's test runner, a few files at a time, then
// the durability tests one at a time.
// Usage: node --import tsx scripts/run-tests.mjs [path-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

function findTests(folder) {
  const files = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) {
      files.push(...findTests(path));
    } else if (name.endsWith('.test.ts')) {
      files.push(path);
    }
  }
  return files.sort();
}

const filters = process.argv.slice(2);
const files = findTests('test').filter(
  (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
);
if (files.length === 0) {
  console.error(`No test file matches ${filters.join(', ')}.`);
  process.exit(1);
}

const concurrency = Number(process.env.HOOKLINE_TEST_CONCURRENCY ?? 4);

// The durability tests kill processes and restart Redis under load, and count on each
// process getting its share of the machine within their deadlines. They run after the
// rest, one file at a time, so that other test files do not take their CPU.
const isolated = (file) => file.includes(`${join('test', 'durability')}`) && file.endsWith('.test.ts');
const phases = [
  { files: files.filter((file) => !isolated(file)), concurrency },
  { files: files.filter(isolated), concurrency: 1 },
];

for (const phase of phases) {
  if (phase.files.length === 0) {
    continue;
  }
  const stream = run({ files: phase.files, concurrency: phase.concurrency, timeout: 10 * 60_000 });
  stream.on('test:fail', () => {
    process.exitCode = 1;
  });
  await new Promise((resolve, reject) => {
    const output = stream.compose(spec);
    output.on('end', resolve);
    output.on('error', reject);
    output.pipe(process.stdout, { end: false });
  });
}
