import type { Command } from 'commander';
import type { CairnClient } from '@cairn/client';
import type { CliIo, Context } from '../context.js';
import { parseDurationMs } from '../duration.js';
import { ExitCode, UsageError } from '../exitCodes.js';
import { messageOf } from './cluster.js';
import { withContext } from './kv.js';

/*
 * etcdctl's `check perf` and `check datascale`: the same workload models, output lines and
 * pass/fail criteria (etcdctl/ctlv3/command/check.go). Both write under a prefix that must be
 * empty, and delete it afterwards.
 */

type Load = 's' | 'm' | 'l' | 'xl';
const LOADS: Readonly<Record<string, Load>> = { s: 's', small: 's', m: 'm', medium: 'm', l: 'l', large: 'l', xl: 'xl', xLarge: 'xl' };

/** check perf: `limit` puts per second from `clients` concurrent writers for `seconds`. */
const PERF: Readonly<Record<Load, { limit: number; clients: number; seconds: number }>> = {
  s: { limit: 150, clients: 50, seconds: 60 },
  m: { limit: 1000, clients: 200, seconds: 60 },
  l: { limit: 8000, clients: 500, seconds: 60 },
  xl: { limit: 15000, clients: 1000, seconds: 60 },
};
/** check datascale: `limit` puts of `kvBytes` (key and value) from `clients` writers. */
const DATASCALE: Readonly<Record<Load, { limit: number; kvBytes: number; clients: number }>> = {
  s: { limit: 10_000, kvBytes: 1024, clients: 50 },
  m: { limit: 100_000, kvBytes: 1024, clients: 200 },
  l: { limit: 1_000_000, kvBytes: 1024, clients: 500 },
  xl: { limit: 3_000_000, kvBytes: 1024, clients: 1000 },
};
/** Concurrent writers share this many connections (a Cairn connection carries many requests). */
const MAX_CONNECTIONS = 8;

function loadOf(text: string): Load {
  const l = LOADS[text];
  if (l === undefined) throw new UsageError(`unknown load option ${text}`, ExitCode.BadFeature);
  return l;
}

/** A key of `bytes` bytes under `prefix`: a random number, zero-padded (etcdctl uses a varint). */
function randomKey(prefix: string, bytes: number): Uint8Array {
  const p = new TextEncoder().encode(prefix);
  const k = new Uint8Array(p.length + bytes);
  k.set(p);
  const r = new TextEncoder().encode(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER).toString(36));
  k.set(r.subarray(0, bytes), p.length);
  return k;
}

/** Latencies and errors of a run, as etcd's report package sums them up. */
class Stats {
  readonly latencies: number[] = [];
  readonly errors = new Map<string, number>();
  record(seconds: number, err?: unknown): void {
    if (err !== undefined) {
      const m = messageOf(err);
      this.errors.set(m, (this.errors.get(m) ?? 0) + 1);
    } else this.latencies.push(seconds);
  }
  get slowest(): number {
    return this.latencies.reduce((a, b) => Math.max(a, b), 0);
  }
  get stddev(): number {
    const n = this.latencies.length;
    if (n === 0) return 0;
    const mean = this.latencies.reduce((a, b) => a + b, 0) / n;
    return Math.sqrt(this.latencies.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  }
}

/** Go's %f: six decimals. */
const f6 = (n: number): string => n.toFixed(6);

async function clientsFor(ctx: Context, n: number): Promise<CairnClient[]> {
  const out: CairnClient[] = [];
  for (let i = 0; i < Math.min(n, MAX_CONNECTIONS); i++) out.push(await ctx.client());
  return out;
}

async function requireEmptyPrefix(client: CairnClient, prefix: string): Promise<void> {
  const res = await client.kv.range({ key: prefix, prefix: true, limit: 1, keysOnly: true });
  if (res.kvs.length > 0) {
    throw new UsageError(`prefix ${JSON.stringify(prefix)} has keys. Delete with 'cairnctl del --prefix ${prefix}' first`, ExitCode.InvalidInput);
  }
}

/** Deletes the prefix; with autoCompact compacts at the deletion's revision; with autoDefrag defragments each endpoint. */
async function cleanup(ctx: Context, client: CairnClient, prefix: string, o: { autoCompact?: boolean; autoDefrag?: boolean }): Promise<void> {
  try {
    const res = await client.kv.delete(prefix, { prefix: true, timeoutMs: 30_000 });
    if (o.autoCompact === true) {
      await client.kv.compact(res.header.revision, { physical: true });
      ctx.io.out(`compacted revision ${res.header.revision}\n`);
    }
  } catch (err) {
    ctx.io.out(`FAIL: Cleanup failed during key deletion: ERROR(${messageOf(err)})\n`);
    return;
  }
  if (o.autoDefrag === true) {
    for (const ep of ctx.endpoints) {
      try {
        const c = await ctx.client([ep]);
        await c.maintenance.defragment({ timeoutMs: ctx.commandTimeoutMs });
        ctx.io.out(`Finished defragmenting etcd member[${ep}]\n`);
      } catch (err) {
        ctx.io.err(`Failed to defragment etcd member[${ep}] (${messageOf(err)})\n`);
      }
    }
  }
}

interface CheckFlags {
  load: string;
  prefix: string;
  autoCompact?: boolean;
  autoDefrag?: boolean;
}

async function checkPerf(ctx: Context, flags: CheckFlags & { duration?: string }): Promise<void> {
  const cfg = PERF[loadOf(flags.load)];
  const seconds = flags.duration === undefined ? cfg.seconds : parseDurationMs(flags.duration) / 1000;
  if (!(seconds > 0) || seconds > 3600) throw new UsageError(`--duration must be between 0 and 1h, got ${flags.duration}`, ExitCode.BadArgs);
  const clients = await clientsFor(ctx, cfg.clients);
  const first = clients[0]!;
  await requireEmptyPrefix(first, flags.prefix);
  const value = new Uint8Array(1024);
  const stats = new Stats();
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  const intervalMs = 1000 / cfg.limit;
  let issued = 0;
  let aborted = false;
  ctx.io.onInterrupt?.(() => (aborted = true));
  // The rate limiter: request i may start at startMs + i * intervalMs (etcd: rate.NewLimiter(limit, 1)).
  const worker = async (w: number): Promise<void> => {
    const client = clients[w % clients.length]!;
    for (;;) {
      const i = issued++;
      const at = startMs + i * intervalMs;
      if (at >= endMs || aborted) return;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t0 = performance.now();
      try {
        await client.kv.put(randomKey(flags.prefix, 256), value, { timeoutMs: ctx.commandTimeoutMs });
        stats.record((performance.now() - t0) / 1000);
      } catch (err) {
        stats.record(0, err);
      }
    }
  };
  const progress = setInterval(() => ctx.io.err(`${Math.round((performance.now() - startMs) / 1000)} / ${seconds} s\n`), 10_000);
  try {
    await Promise.all(Array.from({ length: cfg.clients }, (_, w) => worker(w)));
  } finally {
    clearInterval(progress);
  }
  const totalSeconds = (performance.now() - startMs) / 1000;
  const rps = stats.latencies.length / totalSeconds;
  await cleanup(ctx, first, flags.prefix, flags);

  let ok = true;
  const out = (line: string): void => ctx.io.out(`${line}\n`);
  if (stats.errors.size > 0) {
    out('FAIL: too many errors');
    for (const [m, n] of stats.errors) out(`FAIL: ERROR(${m}) -> ${n}`);
    ok = false;
  }
  if (rps / cfg.limit <= 0.9) {
    out(`FAIL: Throughput too low: ${Math.floor(rps) + 1} writes/s`);
    ok = false;
  } else out(`PASS: Throughput is ${Math.floor(rps) + 1} writes/s`);
  if (stats.slowest > 0.5) {
    out(`Slowest request took too long: ${f6(stats.slowest)}s`);
    ok = false;
  } else out(`PASS: Slowest request took ${f6(stats.slowest)}s`);
  if (stats.stddev > 0.1) {
    out(`Stddev too high: ${f6(stats.stddev)}s`);
    ok = false;
  } else out(`PASS: Stddev is ${f6(stats.stddev)}s`);
  out(ok ? 'PASS' : 'FAIL');
  if (!ok) throw new UsageError('', ExitCode.Error);
}

/** process_resident_memory_bytes from the member's /metrics (0 if it cannot be read). */
async function residentBytes(endpoint: string): Promise<number> {
  const url = /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`;
  try {
    const res = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const m = /^process_resident_memory_bytes\s+([0-9.e+]+)$/m.exec(text);
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

async function checkDatascale(ctx: Context, flags: CheckFlags): Promise<void> {
  const cfg = DATASCALE[loadOf(flags.load)];
  const endpoint = ctx.endpoints[0]!;
  const clients = await clientsFor(ctx, cfg.clients);
  const first = clients[0]!;
  await requireEmptyPrefix(first, flags.prefix);
  const out = (line: string): void => ctx.io.out(`${line}\n`);
  const before = await residentBytes(endpoint);
  if (before === 0) {
    out('FAIL: Could not read process_resident_memory_bytes before the put operations.');
    throw new UsageError('', ExitCode.Error);
  }
  out(`Start data scale check for work load [${cfg.limit} key-value pairs, ${cfg.kvBytes} bytes per key-value, ${cfg.clients} concurrent clients].`);
  const keyBytes = cfg.kvBytes / 2;
  const value = new Uint8Array(cfg.kvBytes - keyBytes);
  const stats = new Stats();
  let issued = 0;
  let aborted = false;
  ctx.io.onInterrupt?.(() => (aborted = true));
  const worker = async (w: number): Promise<void> => {
    const client = clients[w % clients.length]!;
    while (issued < cfg.limit && !aborted) {
      issued++;
      const t0 = performance.now();
      try {
        await client.kv.put(randomKey(flags.prefix, keyBytes), value, { timeoutMs: ctx.commandTimeoutMs });
        stats.record((performance.now() - t0) / 1000);
      } catch (err) {
        stats.record(0, err);
      }
    }
  };
  const progress = setInterval(() => ctx.io.err(`${stats.latencies.length} / ${cfg.limit}\n`), 10_000);
  try {
    await Promise.all(Array.from({ length: cfg.clients }, (_, w) => worker(w)));
  } finally {
    clearInterval(progress);
  }
  const after = await residentBytes(endpoint);
  await cleanup(ctx, first, flags.prefix, flags);
  if (after === 0) {
    out('FAIL: Could not read process_resident_memory_bytes after the put operations.');
    throw new UsageError('', ExitCode.Error);
  }
  if (stats.errors.size > 0) {
    out('FAIL: too many errors');
    for (const [m, n] of stats.errors) out(`FAIL: ERROR(${m}) -> ${n}`);
    throw new UsageError('', ExitCode.Error);
  }
  out(`PASS: Approximate system memory used : ${((after - before) / (1024 * 1024)).toFixed(2)} MB.`);
}

/** The flags `check perf` and `check datascale` share (etcdctl's wording). */
function loadOptions(cmd: Command, name: 'performance' | 'datascale', prefix: string): Command {
  return cmd
    .option('--load <model>', `The ${name} check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)`, 's')
    .option('--prefix <prefix>', `The prefix for writing the ${name} check's keys.`, prefix)
    .option('--auto-compact', 'Compact storage with last revision after test is finished.')
    .option('--auto-defrag', 'Defragment storage after test is finished.');
}

export function registerCheckCommands(program: Command, io: CliIo): void {
  const check = program.command('check').summary('commands for checking properties of the cairn cluster');
  loadOptions(check.command('perf'), 'performance', '/etcdctl-check-perf/')
    .summary('Check the performance of the cairn cluster')
    .option('--duration <duration>', 'How long the load runs (Cairn only; etcdctl always runs 60s).')
    .action(withContext(io, (ctx, flags: CheckFlags & { duration?: string }) => checkPerf(ctx, flags)));
  loadOptions(check.command('datascale'), 'datascale', '/etcdctl-check-datascale/')
    .summary('Check the memory usage of holding data for different workloads on a given server endpoint.')
    .description('If multiple endpoints are provided, the first endpoint is used.')
    .action(withContext(io, (ctx, flags: CheckFlags) => checkDatascale(ctx, flags)));
}
