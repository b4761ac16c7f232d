#!/usr/bin/env node
// Runs every test suite (unit, simulation, end-to-end) through vitest and ends with one
// summary line, `N passed, N failed, N skipped`, summing all of them. Exit code is non-zero
// on any failure. Extra arguments are passed to vitest (e.g. `--project unit`).
//
// With no arguments the two projects run as two vitest processes at once: the end-to-end files
// run one at a time (real processes, timing-sensitive), so the unit files take the other core
// meanwhile instead of running before them. The unit run's output is printed whole when it
// ends, so the two do not interleave.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = `${root}node_modules/.bin/vitest`;

/** One vitest run; resolves to its exit code and its JSON results file. */
function run(name, args, streamed) {
  const out = `${root}.vitest-results${name === '' ? '' : `-${name}`}.json`;
  rmSync(out, { force: true });
  const child = spawn(vitest, ['run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...args], {
    cwd: root,
    stdio: streamed ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  const buffered = [];
  if (!streamed) {
    child.stdout.on('data', (b) => buffered.push(b));
    child.stderr.on('data', (b) => buffered.push(b));
  }
  return new Promise((resolve) =>
    child.on('close', (code) => {
      if (!streamed) process.stdout.write(Buffer.concat(buffered));
      resolve({ code: code ?? 1, out });
    }),
  );
}

/** Sums one run's results: a test file that failed to load counts as a failure. */
function count({ code, out }) {
  const c = { passed: 0, failed: 0, skipped: 0, code };
  if (!existsSync(out)) return { ...c, failed: 1 };
  const r = JSON.parse(readFileSync(out, 'utf8'));
  c.passed = r.numPassedTests ?? 0;
  c.failed = r.numFailedTests ?? 0;
  c.skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  for (const f of r.testResults ?? []) if (f.status === 'failed' && (f.assertionResults ?? []).length === 0) c.failed++;
  if (code !== 0 && c.failed === 0) c.failed = 1;
  return c;
}

const extra = process.argv.slice(2);
const runs =
  extra.length > 0
    ? [run('', extra, true)]
    : [run('unit', ['--project', 'unit'], false), run('e2e', ['--project', 'e2e'], true)];
const counts = (await Promise.all(runs)).map(count);
const sum = (k) => counts.reduce((n, c) => n + c[k], 0);
const failed = sum('failed');
const skipped = sum('skipped');
console.log(`\n${sum('passed')} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || counts.some((c) => c.code !== 0) ? 1 : 0);
