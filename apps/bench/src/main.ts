/**
 * `pnpm bench`: put and get throughput and latency against a single member at 1, 16 and 128
 * requests in flight, with the server's CPU time per operation (client and server share the
 * machine's cores, so throughput alone misleads). When `etcd` is installed the same workloads
 * run against a real etcd member through the etcd3 client, alternating with Cairn, and the
 * table shows the ratio. Results are printed and saved as JSON under bench-results/.
 *
 * Flags: --duration-ms N (per cell, default 3000), --rounds N (alternations, default 2),
 * --only cairn|etcd, --skip-raft, --leases-watches (adds the lease and watch section, ~30 s),
 * --only-leases-watches (runs that section alone).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cairnDriver } from './cairnDriver.js';
import { etcdDriver } from './etcdDriver.js';
import { commandExists, type ServerProc, startCairn, startEtcd } from './procs.js';
import { formatTable, type Row } from './stats.js';
import { type Driver, prefill, runWorkload, type WorkloadResult, type WorkloadSpec } from './workload.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '2' },
    only: { type: 'string' },
    'skip-raft': { type: 'boolean', default: false },
    'leases-watches': { type: 'boolean', default: false },
    'only-leases-watches': { type: 'boolean', default: false },
  },
});
const durationMs = Number(values['duration-ms']);
const rounds = Number(values.rounds);

interface Target {
  readonly name: 'cairn' | 'etcd';
  readonly server: ServerProc;
  readonly driver: Driver;
}

/** The lease and watch section on its own Cairn member. */
async function leasesWatches(): Promise<unknown> {
  const { leaseBench, watchBench } = await import('./leaseWatchBench.js');
  const server = await startCairn();
  try {
    const watch = await watchBench(server.endpoint);
    const lease = await leaseBench(server.endpoint, server.pid);
    console.log('\nWatches: 10,000 watchers on one key over 100 sockets\n');
    console.log(
      formatTable(
        ['watchers', 'sockets', 'puts', 'events', 'events/s', 'p50 ms', 'p99 ms'],
        [{ watchers: watch.watchers, sockets: watch.sockets, puts: watch.puts, events: watch.eventsDelivered, 'events/s': watch.eventsPerSec, 'p50 ms': watch.p50Ms, 'p99 ms': watch.p99Ms }],
      ),
    );
    console.log('\nLeases: 10,000 granted, kept alive with TTL 10 s on one stream\n');
    console.log(
      formatTable(
        ['leases', 'grants/s', 'renewals/s', 'member cpu share'],
        [{ leases: lease.leases, 'grants/s': lease.grantsPerSec, 'renewals/s': lease.renewalsPerSec, 'member cpu share': lease.memberCpuShareKeepAlive }],
      ),
    );
    return { watch, lease };
  } finally {
    await server.stop();
  }
}

function save(doc: Record<string, unknown>): void {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ when: new Date().toISOString(), ...doc }, null, 2)}\n`);
  console.log(`\nsaved ${file}`);
}

async function main(): Promise<void> {
  if (values['only-leases-watches']) {
    save({ leasesWatches: await leasesWatches() });
    return;
  }
  const targets: Target[] = [];
  if (values.only !== 'etcd') {
    const server = await startCairn();
    targets.push({ name: 'cairn', server, driver: await cairnDriver(server.endpoint) });
  }
  const haveEtcd = commandExists('etcd');
  if (!haveEtcd) {
    console.log('etcd is not installed: running Cairn alone (apps/bench/scripts/install-etcd.sh installs it).');
  } else if (values.only !== 'cairn') {
    const server = await startEtcd();
    targets.push({ name: 'etcd', server, driver: etcdDriver(server.endpoint) });
  }

  const base = { durationMs, maxOps: 2_000_000, keySpace: 10_000, valueBytes: 128 };
  const specs: WorkloadSpec[] = [];
  for (const op of ['put', 'get'] as const) for (const concurrency of [1, 16, 128]) specs.push({ ...base, op, concurrency });

  for (const t of targets) await prefill(t.driver, specs[0]!);

  // results[spec][target] = per-round results; rounds alternate targets so drift hits both.
  const results = specs.map(() => new Map<string, WorkloadResult[]>());
  for (let round = 0; round < rounds; round++) {
    for (const [i, spec] of specs.entries()) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const r = await runWorkload(t.driver, t.server.pid, spec);
        const list = results[i]!.get(t.name) ?? [];
        list.push(r);
        results[i]!.set(t.name, list);
        process.stderr.write(`  round ${round + 1} ${t.name} ${spec.op} x${spec.concurrency}: ${r.opsPerSec.toFixed(0)} ops/s\n`);
      }
    }
  }
  for (const t of targets) {
    await t.driver.close();
    await t.server.stop();
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows: Row[] = [];
  const json: Record<string, unknown>[] = [];
  for (const [i, spec] of specs.entries()) {
    const byTarget = results[i]!;
    const summary = (name: string) => {
      const rs = byTarget.get(name);
      if (!rs) return undefined;
      return {
        opsPerSec: mean(rs.map((r) => r.opsPerSec)),
        p50Ms: mean(rs.map((r) => r.p50Ms)),
        p99Ms: mean(rs.map((r) => r.p99Ms)),
        serverCpuUsPerOp: mean(rs.map((r) => r.serverCpuUsPerOp)),
        errors: rs.reduce((a, r) => a + r.errors, 0),
      };
    };
    const c = summary('cairn');
    const e = summary('etcd');
    const row: Record<string, string | number> = { workload: spec.op, inflight: spec.concurrency };
    if (c) Object.assign(row, { 'cairn ops/s': c.opsPerSec, 'cairn p50 ms': c.p50Ms, 'cairn p99 ms': c.p99Ms, 'cairn cpu us/op': c.serverCpuUsPerOp });
    if (e) Object.assign(row, { 'etcd ops/s': e.opsPerSec, 'etcd p50 ms': e.p50Ms, 'etcd p99 ms': e.p99Ms, 'etcd cpu us/op': e.serverCpuUsPerOp });
    if (c && e) Object.assign(row, { 'ops/s cairn/etcd': c.opsPerSec / e.opsPerSec, 'cpu/op cairn/etcd': c.serverCpuUsPerOp / e.serverCpuUsPerOp });
    rows.push(row);
    json.push({ workload: spec.op, inflight: spec.concurrency, durationMs, rounds, cairn: c, etcd: e });
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  console.log('\nSingle member, closed loop, 128-byte values, 10,000 keys (means over rounds)\n');
  console.log(formatTable(columns, rows));

  let raft: unknown;
  if (!values['skip-raft']) {
    try {
      const { raftCommitBench } = await import('./raftBench.js');
      raft = await raftCommitBench({ durationMs, batch: 64 });
      console.log('\nRaft core, 3 nodes in memory:', JSON.stringify(raft));
    } catch (err) {
      console.log(`\nRaft micro-benchmark unavailable: ${(err as Error).message}`);
    }
  }

  const lw = values['leases-watches'] ? await leasesWatches() : undefined;
  save({ etcdInstalled: haveEtcd, results: json, raft, ...(lw !== undefined ? { leasesWatches: lw } : {}) });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
