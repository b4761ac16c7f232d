/**
 * Leases and watches on one member (`pnpm bench --only-leases-watches`, or `--leases-watches`
 * to add it to the default run; about 30 s):
 *
 * - 10,000 watchers on one key across 100 sockets; puts carry their send time, so each event's
 *   put-to-event latency is measured in this process; events/s delivered over the run.
 * - 10,000 leases granted (64 in flight), then kept alive with TTL 10 s on one keep-alive
 *   stream: leases granted per second, and the member's CPU share while only keep-alives
 *   flow (from /proc).
 */
import { CairnClient } from '@cairn/client';
import { cpuSeconds } from './procs.js';
import { percentile } from './stats.js';

export interface WatchBenchResult {
  readonly watchers: number;
  readonly sockets: number;
  readonly puts: number;
  readonly eventsDelivered: number;
  readonly eventsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly setupSec: number;
}

export interface LeaseBenchResult {
  readonly leases: number;
  readonly grantsPerSec: number;
  readonly ttlSeconds: number;
  readonly keepAliveWindowSec: number;
  /** Member CPU seconds per wall second while only keep-alives flow (1.0 = one core). */
  readonly memberCpuShareKeepAlive: number;
  readonly renewalsPerSec: number;
}

const nowMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function watchBench(endpoint: string, o: { watchers?: number; sockets?: number; puts?: number } = {}): Promise<WatchBenchResult> {
  const watchers = o.watchers ?? 10_000;
  const sockets = o.sockets ?? 100;
  const puts = o.puts ?? 30;
  const t0 = nowMs();
  const clients = Array.from({ length: sockets }, () => new CairnClient({ endpoints: [endpoint] }));
  const latencies = new Float64Array(watchers * puts);
  let n = 0;
  let lastAt = 0;
  const key = 'bench/watch/hot';
  const ws = [];
  for (let i = 0; i < watchers; i++) {
    const w = clients[i % sockets]!.watch(key);
    ws.push(w);
    void (async () => {
      for await (const r of w) {
        const at = nowMs();
        for (const e of r.events) {
          const sent = Number(new TextDecoder().decode(e.kv.value));
          if (n < latencies.length) latencies[n++] = at - sent;
          lastAt = at;
        }
      }
    })().catch(() => undefined);
  }
  await Promise.all(ws.map((w) => w.created));
  const setupSec = (nowMs() - t0) / 1000;
  const writer = new CairnClient({ endpoints: [endpoint] });
  const start = nowMs();
  for (let i = 0; i < puts; i++) {
    await writer.kv.put(key, String(nowMs()));
    await sleep(20);
  }
  const deadline = nowMs() + 30_000;
  while (n < watchers * puts && nowMs() < deadline) await sleep(20);
  const seconds = (lastAt - start) / 1000;
  for (const w of ws) w.cancel();
  for (const c of clients) c.close();
  writer.close();
  const sorted = latencies.slice(0, n).sort();
  return {
    watchers,
    sockets,
    puts,
    eventsDelivered: n,
    eventsPerSec: n / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    setupSec,
  };
}

export async function leaseBench(endpoint: string, pid: number, o: { leases?: number; windowMs?: number } = {}): Promise<LeaseBenchResult> {
  const count = o.leases ?? 10_000;
  const windowMs = o.windowMs ?? 10_000;
  const ttlSeconds = 10;
  const client = new CairnClient({ endpoints: [endpoint] });
  const ids: bigint[] = [];
  const t0 = nowMs();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        next++;
        ids.push((await client.lease.grant(ttlSeconds)).id);
      }
    }),
  );
  const grantsPerSec = count / ((nowMs() - t0) / 1000);
  let renewals = 0;
  const handles = ids.map((id) => {
    const h = client.lease.keepAlive(id);
    h.on('keepalive', () => renewals++);
    return h;
  });
  // Let the first renewal of every lease go by, then measure a quiet window.
  await sleep(2000);
  const cpu0 = cpuSeconds(pid);
  const r0 = renewals;
  const w0 = nowMs();
  await sleep(windowMs);
  const wall = (nowMs() - w0) / 1000;
  const share = (cpuSeconds(pid) - cpu0) / wall;
  const renewalsPerSec = (renewals - r0) / wall;
  for (const h of handles) h.close();
  for (const id of ids.slice(0, 64)) await client.lease.revoke(id).catch(() => undefined);
  client.close();
  return { leases: count, grantsPerSec, ttlSeconds, keepAliveWindowSec: wall, memberCpuShareKeepAlive: share, renewalsPerSec };
}
