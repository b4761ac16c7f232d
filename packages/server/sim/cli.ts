// pnpm sim:cluster --seeds N [--from F] [--members 3|5] [--spares K] [--bug NAME] [--fault-ms MS]
//   runs seeds F..F+N-1 (F defaults to 1) and prints a summary; exit 1 if any failed.
// pnpm sim:cluster --seed S [--members 3|5] [--bug NAME] [--fault-ms MS] [--verbose]
//   replays one seed exactly (--verbose prints its trace).
import { BUGS, isBugName } from './bugs.js';
import { runClusterSeed, type ClusterSimResult } from './run.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

function fail(msg: string): never {
  console.error(`sim:cluster: ${msg}`);
  process.exit(2);
}

const count = (name: string, dflt: number): number => {
  const v = arg(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) fail(`--${name} wants a whole number, got ${v}`);
  return n;
};

const members = count('members', 3);
if (members !== 3 && members !== 5) fail(`--members is 3 or 5, got ${members}`);
const bug = arg('bug');
if (bug !== undefined && !isBugName(bug)) fail(`unknown --bug ${bug}; planted bugs: ${Object.keys(BUGS).join(', ')}`);
const faultMs = arg('fault-ms') === undefined ? undefined : count('fault-ms', 0);
const spares = arg('spares') === undefined ? undefined : count('spares', 2);
const common = { members, ...(bug === undefined ? {} : { bug }), ...(faultMs === undefined ? {} : { faultMs }), ...(spares === undefined ? {} : { spares }) };
const replay = (seed: number): string =>
  `pnpm sim:cluster --seed ${seed}${members !== 3 ? ` --members ${members}` : ''}${spares !== undefined ? ` --spares ${spares}` : ''}${bug !== undefined ? ` --bug ${bug}` : ''}${faultMs !== undefined ? ` --fault-ms ${faultMs}` : ''} --verbose`;

const report = (r: ClusterSimResult): void => {
  for (const v of r.violations) console.log(`seed ${r.seed}: VIOLATION ${v}`);
};

if (arg('seed') !== undefined) {
  const seed = count('seed', 1);
  const r = await runClusterSeed({ seed, ...common, ...(flag('verbose') ? { trace: (l: string) => console.log(l) } : {}) });
  console.log(JSON.stringify(r.stats));
  report(r);
  console.log(`seed ${seed}: ${r.ok ? 'ok' : `${r.violations.length} violation(s)`}, trace ${r.traceHash}`);
  process.exit(r.ok ? 0 : 1);
} else {
  const n = count('seeds', 20);
  const from = count('from', 1);
  const t0 = performance.now();
  let failed = 0;
  let ops = 0;
  let crashes = 0;
  for (let s = from; s < from + n; s++) {
    const r = await runClusterSeed({ seed: s, ...common });
    ops += r.stats.ops;
    crashes += r.stats.crashes;
    if (!r.ok) {
      failed++;
      report(r);
      console.log(`seed ${s}: replay with ${replay(s)}`);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`${n} seeds in ${secs.toFixed(1)}s (${(n / secs).toFixed(2)} seeds/s): ${n - failed} ok, ${failed} failed; ${ops} client ops, ${crashes} crashes`);
  process.exit(failed > 0 ? 1 : 0);
}
