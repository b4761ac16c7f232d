/**
 * `pnpm bench`: put and get throughput and latency against a single member at 1, 16 and 128
 * requests in flight, with the server's CPU time per operation (client and server share the
 * machine's cores, so throughput alone misleads). When `etcd` is installed the same workloads
 * run against a real etcd member through the etcd3 client, alternating with Cairn, and the
 * table shows the ratio. Cairn is also driven through its etcd API by the same etcd3 client
 * (`cairn-etcd3`), so one client measures both servers. Results are printed and saved as JSON under bench-results/.
 *
 * Flags: --duration-ms N (per cell, default 3000), --rounds N (alternations, default 2),
 * --only cairn|etcd, --skip-raft, --leases-watches (adds the lease and watch section, ~30 s),
 * --only-leases-watches (runs that section alone), --skip-cluster / --only-cluster (the
 * 3-member section: the same workloads against the leader, and leader kill -> first write),
 * --soak (the memory soak alone, see soakBench.ts; --soak-ms N, default 600000), --help.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CairnClient } from '@cairn/client';
import { cairnDriver } from './cairnDriver.js';
import { etcdDriver } from './etcdDriver.js';
import { commandExists, type ServerProc, startCairn, startEtcd } from './procs.js';
import { formatTable, type Row } from './stats.js';
import { type Driver, prefill, runWorkload, type WorkloadResult, type WorkloadSpec } from './workload.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const HELP = `Usage: pnpm bench [options]

Runs put/get workloads against a single Cairn member (and etcd, when installed), then the
3-member section; prints tables and saves JSON under bench-results/.

Options:
  --duration-ms N         length of each workload cell in ms (default 3000)
  --rounds N              alternations between Cairn and etcd (default 2)
  --only cairn|etcd       run one server only
  --skip-raft             skip the in-memory raft core benchmark
  --leases-watches        add the lease and watch section (~30 s)
  --only-leases-watches   run the lease and watch section alone
  --skip-cluster          skip the 3-member section
  --only-cluster          run the 3-member section alone
  --soak                  run the memory soak alone: one member written at saturation with
                          64 KiB and 1 KiB values (~100 MB live), RSS sampled every second,
                          saved as JSON and an SVG chart of RSS over bytes written
  --soak-ms N             length of the soak in ms (default 600000, 10 minutes)
  --soak-member-arg FLAG  a daemon flag for the soaked member (repeatable),
                          e.g. --soak-member-arg=--rocksdb-block-cache-bytes=8388608
  --soak-member-env K=V   an environment variable for the soaked member (repeatable),
                          e.g. --soak-member-env=LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
  --soak-label TEXT       name of the run in the chart and the JSON file (default: the flags)
  --help                  print this and exit
`;

const parseCli = () =>
  parseArgs({
    options: {
      help: { type: 'boolean', default: false },
      soak: { type: 'boolean', default: false },
      'soak-ms': { type: 'string', default: '600000' },
      'soak-member-arg': { type: 'string', multiple: true },
      'soak-member-env': { type: 'string', multiple: true },
      'soak-label': { type: 'string' },
      'duration-ms': { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '2' },
      only: { type: 'string' },
      'skip-raft': { type: 'boolean', default: false },
      'leases-watches': { type: 'boolean', default: false },
      'only-leases-watches': { type: 'boolean', default: false },
      'skip-cluster': { type: 'boolean', default: false },
      'only-cluster': { type: 'boolean', default: false },
    },
  });
let parsedCli: ReturnType<typeof parseCli>;
try {
  parsedCli = parseCli();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n\n${HELP}`);
  process.exit(2);
}
const { values } = parsedCli;
const durationMs = Number(values['duration-ms']);
const rounds = Number(values.rounds);

interface Target {
  /** `cairn-etcd3`: the Cairn member driven through its etcd gRPC API by the etcd3 client. */
  readonly name: 'cairn' | 'cairn-etcd3' | 'etcd';
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

function save(doc: Record<string, unknown>, prefix = 'bench'): string {
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ when: new Date().toISOString(), ...doc }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
  );
  console.log(`\nsaved ${file}`);
  return file;
}

/**
 * Three members each of Cairn and (when installed) etcd: put/get at 16 and 128 in flight
 * through the leader, then three leader kills each.
 */
async function clusterSection(haveEtcd: boolean): Promise<unknown> {
  const { failover, startCluster } = await import('./clusterBench.js');
  const kinds: ('cairn' | 'etcd')[] = values.only === 'etcd' ? ['etcd'] : values.only === 'cairn' || !haveEtcd ? ['cairn'] : ['cairn', 'etcd'];
  const base = { durationMs, maxOps: 2_000_000, keySpace: 10_000, valueBytes: 128 };
  const specs: WorkloadSpec[] = [];
  for (const op of ['put', 'get'] as const) for (const concurrency of [16, 128]) specs.push({ ...base, op, concurrency });
  const out: Record<string, unknown> = {};
  const rows: Row[] = [];
  for (const kind of kinds) {
    const cluster = await startCluster(kind);
    try {
      const leader = cluster.nodes[await cluster.leader()]!.endpoint;
      const driver = kind === 'cairn' ? await cairnDriver(leader) : etcdDriver(leader);
      await prefill(driver, specs[0]!);
      const results = [];
      for (const spec of specs) {
        // A scrape resets the member's event-loop delay histogram: the next one covers the cell.
        if (kind === 'cairn') await leaderLoopDelayP99Ms(leader);
        const r = await runWorkload(driver, () => cluster.cpuSeconds(), spec);
        const loopP99Ms = kind === 'cairn' ? await leaderLoopDelayP99Ms(leader) : undefined;
        process.stderr.write(`  3 members ${kind} ${spec.op} x${spec.concurrency}: ${r.opsPerSec.toFixed(0)} ops/s\n`);
        results.push({ workload: spec.op, inflight: spec.concurrency, ...r, leaderLoopDelayP99Ms: loopP99Ms });
        rows.push({
          members: 3,
          server: kind,
          workload: spec.op,
          inflight: spec.concurrency,
          'ops/s': r.opsPerSec,
          'p50 ms': r.p50Ms,
          'p99 ms': r.p99Ms,
          'cpu us/op (3 members)': r.serverCpuUsPerOp,
          'leader loop p99 ms': loopP99Ms ?? '-',
        });
      }
      await driver.close();
      const writer = (endpoints: string[]) => {
        const acks: { startedMs: number; ackedMs: number }[] = [];
        let stopped = false;
        const w = kind === 'cairn' ? new CairnClient({ endpoints, dialTimeoutMs: 2000, requestTimeoutMs: 10_000 }) : undefined;
        const e = kind === 'etcd' ? etcdDriver(endpoints) : undefined;
        let n = 0;
        const loops = Array.from({ length: 16 }, async () => {
          while (!stopped) {
            const key = `failover/${n++}`;
            const startedMs = Date.now();
            try {
              if (w !== undefined) await w.kv.put(key, 'v');
              else await e!.put(key, new Uint8Array([118]));
              acks.push({ startedMs, ackedMs: Date.now() });
            } catch {
              await new Promise((r) => setTimeout(r, 10));
            }
          }
        });
        return {
          acks,
          stop: async () => {
            stopped = true;
            await Promise.all(loops);
            w?.close();
            await e?.close();
          },
        };
      };
      const fo = await failover(cluster, writer);
      process.stderr.write(`  3 members ${kind} leader kill -> first write: ${fo.gapsMs.join(', ')} ms\n`);
      out[kind] = { workloads: results, failover: fo };
    } finally {
      await cluster.stop();
    }
  }
  console.log('\nThree members on this machine, through the leader (means of one run per cell)\n');
  console.log(formatTable([...new Set(rows.flatMap((r) => Object.keys(r)))], rows));
  const fo = Object.entries(out).map(([kind, v]) => ({ server: kind, ...(v as { failover: { gapsMs: number[]; medianMs: number } }).failover }));
  console.log('\nLeader kill -9 -> first acknowledged write (16 writers through every endpoint)\n');
  console.log(formatTable(['server', 'trials ms', 'median ms'], fo.map((f) => ({ server: f.server, 'trials ms': f.gapsMs.join(' / '), 'median ms': f.medianMs }))));
  return out;
}

/**
 * The leader's event-loop delay p99 (ms) since its previous /metrics scrape (prom-client
 * resets the histogram on every scrape); undefined if the member does not report it.
 */
async function leaderLoopDelayP99Ms(endpoint: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${endpoint}/metrics`)).text();
    const m = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
    return m === null ? undefined : Math.round(Number(m[1]) * 10_000) / 10;
  } catch {
    return undefined;
  }
}

/** `--soak`: the memory soak alone, saved as JSON plus an SVG chart next to it. */
async function soakSection(): Promise<void> {
  const { soakBench, soakSvg } = await import('./soakBench.js');
  const durationMs = Number(values['soak-ms']);
  if (!Number.isSafeInteger(durationMs) || durationMs < 5000)
    throw new Error(`--soak-ms must be an integer of at least 5000, got ${values['soak-ms']}`);
  const memberArgs = values['soak-member-arg'] ?? [];
  const label =
    values['soak-label'] ?? (memberArgs.length > 0 ? memberArgs.join(' ') : 'default flags');
  process.stderr.write(
    `soak: ${durationMs} ms, member flags: ${memberArgs.join(' ') || '(defaults)'}\n`,
  );
  const memberEnv: Record<string, string> = {};
  for (const kv of values['soak-member-env'] ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--soak-member-env must be NAME=VALUE, got ${JSON.stringify(kv)}`);
    memberEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const r = await soakBench({ durationMs, memberArgs, memberEnv });
  const mb = (b: number) => b / 1e6;
  console.log(
    `\nSoak: one member, ${r.writers} writers (64 KiB and 1 KiB values), compaction every 5 s\n`,
  );
  console.log(
    formatTable(
      [
        'label',
        'seconds',
        'GB written',
        'puts/s',
        'MB/s',
        'RSS start MB',
        'RSS max MB',
        'RSS last fifth max MB',
        'RSS end MB',
        'data dir MB',
        'errors',
      ],
      [
        {
          label,
          seconds: r.samples[r.samples.length - 1]!.s,
          'GB written': r.writtenBytes / 1e9,
          'puts/s': r.putsPerSec,
          'MB/s': r.mbWrittenPerSec,
          'RSS start MB': mb(r.rssStartBytes),
          'RSS max MB': mb(r.rssMaxBytes),
          'RSS last fifth max MB': mb(r.rssLastFifthMaxBytes),
          'RSS end MB': mb(r.rssEndBytes),
          'data dir MB': mb(r.dataDirEndBytes),
          errors: r.errors,
        },
      ],
    ),
  );
  const file = save({ soak: { label, ...r } }, 'soak');
  const svg = file.replace(/\.json$/, '.svg');
  writeFileSync(svg, soakSvg([{ label, samples: r.samples }]));
  console.log(`chart ${svg}`);
}

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.soak) {
    await soakSection();
    return;
  }
  if (values['only-cluster']) {
    save({ etcdInstalled: commandExists('etcd'), cluster: await clusterSection(commandExists('etcd')) });
    return;
  }
  if (values['only-leases-watches']) {
    save({ leasesWatches: await leasesWatches() });
    return;
  }
  const targets: Target[] = [];
  if (values.only !== 'etcd') {
    const server = await startCairn();
    targets.push({ name: 'cairn', server, driver: await cairnDriver(server.endpoint) });
    // The same client for both servers: the fairest ratio (docs/etcd-api.md).
    targets.push({ name: 'cairn-etcd3', server, driver: etcdDriver(server.endpoint) });
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
  for (const t of targets) await t.driver.close();
  for (const server of new Set(targets.map((t) => t.server))) await server.stop();

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
    const g = summary('cairn-etcd3');
    const row: Record<string, string | number> = { workload: spec.op, inflight: spec.concurrency };
    if (c) Object.assign(row, { 'cairn ops/s': c.opsPerSec, 'cairn p50 ms': c.p50Ms, 'cairn p99 ms': c.p99Ms, 'cairn cpu us/op': c.serverCpuUsPerOp });
    if (e) Object.assign(row, { 'etcd ops/s': e.opsPerSec, 'etcd p50 ms': e.p50Ms, 'etcd p99 ms': e.p99Ms, 'etcd cpu us/op': e.serverCpuUsPerOp });
    if (g) Object.assign(row, { 'cairn via etcd3 ops/s': g.opsPerSec, 'cairn via etcd3 cpu us/op': g.serverCpuUsPerOp });
    if (c && e) Object.assign(row, { 'ops/s cairn/etcd': c.opsPerSec / e.opsPerSec, 'cpu/op cairn/etcd': c.serverCpuUsPerOp / e.serverCpuUsPerOp });
    if (g && e) Object.assign(row, { 'ops/s etcd3: cairn/etcd': g.opsPerSec / e.opsPerSec });
    rows.push(row);
    json.push({ workload: spec.op, inflight: spec.concurrency, durationMs, rounds, cairn: c, cairnViaEtcd3: g, etcd: e });
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
  const cluster = values['skip-cluster'] ? undefined : await clusterSection(haveEtcd);
  save({ etcdInstalled: haveEtcd, results: json, raft, ...(lw !== undefined ? { leasesWatches: lw } : {}), ...(cluster !== undefined ? { cluster } : {}) });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
