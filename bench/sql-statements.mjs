// Counts and times every SQL statement that a process runs through better-sqlite3, and writes
// the totals by statement text to bench/results/sql-statements-PID.txt when the process exits.
// Load it into the Hookline processes of a benchmark run:
//   BENCH_NODE_OPTIONS="--import ./bench/sql-statements.mjs" npm run bench -- ingest
// Times include the statement's own work only, not Kysely's; `commit` is the cost of a commit.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const totals = new Map();

function record(text, startedAt) {
  const key = text.replace(/\s+/g, ' ').slice(0, 200);
  const entry = totals.get(key) ?? { count: 0, nanoseconds: 0n };
  entry.count += 1;
  entry.nanoseconds += process.hrtime.bigint() - startedAt;
  totals.set(key, entry);
}

const probe = new Database(':memory:');
const statementPrototype = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();

for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = statementPrototype[method];
  statementPrototype[method] = function timed(...parameters) {
    const startedAt = process.hrtime.bigint();
    try {
      return original.apply(this, parameters);
    } finally {
      record(this.source, startedAt);
    }
  };
}

const originalExec = Database.prototype.exec;
Database.prototype.exec = function timedExec(text) {
  const startedAt = process.hrtime.bigint();
  try {
    return originalExec.call(this, text);
  } finally {
    record(text, startedAt);
  }
};

process.on('exit', () => {
  const rows = [...totals.entries()].sort((left, right) => Number(right[1].nanoseconds - left[1].nanoseconds));
  const lines = rows.map(([text, entry]) => {
    const totalMs = Number(entry.nanoseconds) / 1e6;
    const eachUs = Number(entry.nanoseconds) / entry.count / 1e3;
    return `${totalMs.toFixed(0).padStart(8)} ms ${String(entry.count).padStart(9)} × ${eachUs.toFixed(1).padStart(7)} µs  ${text}`;
  });
  const folder = join(process.cwd(), 'bench', 'results');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `sql-statements-${process.pid}.txt`), `${lines.join('\n')}\n`);
});
