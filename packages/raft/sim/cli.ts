// pnpm sim --seed S [--verbose [--messages]] [--rounds R] [--unsafe]   replay one seed (exactly)
// pnpm sim --seeds N [--from F] [--unsafe]                run seeds F..F+N-1, print a summary
// --unsafe: the broken Figure 8 commit rule; --stale-reads: reads served locally;
// --unsafe-self-count: leaders count their own entries before they are durable (all test-only)
// --pipeline D: every node keeps up to D Readys' writes in flight (default: drawn per seed)
import { checkSeedHistory } from './linearizable.js';
import { runSeed, type SimResult } from './sim.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const unsafe = flag('unsafe');
const staleReads = flag('stale-reads');
const unsafeSelfCount = flag('unsafe-self-count');
const rounds = arg('rounds') !== undefined ? Number(arg('rounds')) : undefined;
const pipeline = arg('pipeline') !== undefined ? Number(arg('pipeline')) : undefined;

function runOne(seed: number, verbose: boolean): SimResult {
  const r = runSeed({ seed, unsafeCommit: unsafe, unsafeLocalReads: staleReads, unsafeSelfCount, ...(rounds !== undefined ? { rounds } : {}), ...(pipeline !== undefined ? { pipeline } : {}), ...(verbose ? { trace: (l: string) => console.log(l), traceMessages: flag('messages') } : {}) });
  if (r.ok) {
    const lin = checkSeedHistory(r.history);
    if (lin.verdict === 'not-linearizable') return { ...r, ok: false, violation: `linearizability: ${lin.detail}` };
  }
  return r;
}

const replay = (seed: number): string => `pnpm sim --seed ${seed}${unsafe ? ' --unsafe' : ''}${staleReads ? ' --stale-reads' : ''}${unsafeSelfCount ? ' --unsafe-self-count' : ''}${rounds !== undefined ? ` --rounds ${rounds}` : ''}${pipeline !== undefined ? ` --pipeline ${pipeline}` : ''} --verbose`;

if (arg('seed') !== undefined) {
  const seed = Number(arg('seed'));
  const r = runOne(seed, flag('verbose'));
  console.log(JSON.stringify(r.stats));
  if (!r.ok) {
    console.log(`seed ${seed}: VIOLATION ${r.violation} (round ${r.round})`);
    process.exit(1);
  }
  console.log(`seed ${seed}: ok (${r.history.length} client ops)`);
} else {
  const n = Number(arg('seeds') ?? '100');
  const from = Number(arg('from') ?? '1');
  const t0 = performance.now();
  const failed: SimResult[] = [];
  let ops = 0;
  let crashes = 0;
  let confChanges = 0;
  for (let s = from; s < from + n; s++) {
    const r = runOne(s, false);
    ops += r.stats.proposals;
    crashes += r.stats.crashes;
    confChanges += r.stats.confChanges;
    if (!r.ok) {
      failed.push(r);
      console.log(`seed ${s}: VIOLATION ${r.violation} — replay: ${replay(s)}`);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`${n} seeds in ${secs.toFixed(1)}s: ${n - failed.length} ok, ${failed.length} failed; ${ops} proposals, ${crashes} crashes, ${confChanges} conf changes`);
  if (failed.length > 0) process.exit(1);
}
