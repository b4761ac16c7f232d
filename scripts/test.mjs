#!/usr/bin/env node
// Runs every test suite (unit, simulation, end-to-end) through vitest and ends with one
// summary line, `N passed, N failed, N skipped`, summing all of them. Exit code is non-zero
// on any failure. Extra arguments are passed to vitest (e.g. `--project unit`).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}.vitest-results.json`;
rmSync(out, { force: true });
const vitest = `${root}node_modules/.bin/vitest`;
const res = spawnSync(
  vitest,
  ['run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests ?? 0;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that failed to load counts as a failure even though it ran no test.
  for (const f of r.testResults ?? []) if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) failed++;
} else {
  failed = 1;
}
const code = res.status !== 0 || failed > 0 ? 1 : 0;
if (code !== 0 && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code);
