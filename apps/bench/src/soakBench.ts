/**
 * `pnpm bench --soak`: a single real member written at saturation for ~10 minutes, with 64 KiB
 * and 1 KiB values over a bounded key set (so the live data stays near 100 MB) and a
 * compaction every few seconds. The member's RSS is sampled every second; the samples are
 * saved as JSON and drawn as an SVG chart of RSS over bytes written.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { connect } from '@cairn/client';
import { startCairn } from './procs.js';

export interface SoakOptions {
  readonly durationMs: number;
  /** Extra daemon flags (e.g. memory bounds) for the member under test. */
  readonly memberArgs?: readonly string[];
  readonly memberEnv?: Readonly<Record<string, string>>;
}

export interface SoakSample {
  /** Seconds since the writes started. */
  readonly s: number;
  readonly rssBytes: number;
  /** Value bytes acknowledged so far. */
  readonly writtenBytes: number;
  readonly puts: number;
  /** Size of the member's data directory (the store plus raft log and snapshots). */
  readonly dataDirBytes: number;
  /** From the member's /metrics, when it answered: RocksDB's memory by kind, V8 heap, external. */
  readonly memberMemory?: Readonly<Record<string, number>>;
}

export interface SoakResult {
  readonly durationMs: number;
  readonly memberArgs: readonly string[];
  readonly memberEnv: Readonly<Record<string, string>>;
  readonly largeValueBytes: number;
  readonly smallValueBytes: number;
  readonly largeKeys: number;
  readonly smallKeys: number;
  readonly writers: number;
  readonly puts: number;
  readonly writtenBytes: number;
  readonly putsPerSec: number;
  readonly mbWrittenPerSec: number;
  readonly errors: number;
  readonly compactions: number;
  readonly rssStartBytes: number;
  readonly rssMaxBytes: number;
  readonly rssEndBytes: number;
  /** Highest RSS over the last fifth of the run (the plateau after warm-up). */
  readonly rssLastFifthMaxBytes: number;
  readonly dataDirEndBytes: number;
  readonly samples: SoakSample[];
}

const LARGE = 64 * 1024;
const SMALL = 1024;
/** 1,200 x 64 KiB + 20,000 x 1 KiB: about 99 MB of live values. */
const LARGE_KEYS = 1200;
const SMALL_KEYS = 20_000;
/** Writers per value size, each with one put in flight. */
const WRITERS_PER_SIZE = 8;
const COMPACT_EVERY_MS = 5000;
const SAMPLE_EVERY_MS = 1000;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function dirBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    try {
      const st = statSync(join(dir, n));
      total += st.isDirectory() ? dirBytes(join(dir, n)) : st.size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

/** The memory figures of a member's Prometheus text. */
function memoryFromMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(cairn_rocksdb_memory_bytes\{kind="(\w+)"\}|nodejs_heap_size_used_bytes|nodejs_external_memory_bytes|nodejs_eventloop_lag_p99_seconds)\s+(\S+)/.exec(line);
    if (m === null) continue;
    out[m[2] !== undefined ? `rocksdb_${m[2]}` : m[1]!] = Number(m[3]);
  }
  return out;
}

/** A pool of incompressible values, so the store's compression does not hide the data set. */
function valuePool(bytes: number, count: number): Uint8Array[] {
  return Array.from({ length: count }, () => randomFillSync(new Uint8Array(bytes)));
}

/**
 * The soak measures memory, not the quota: the raft log (10,000 entries between snapshot
 * points, about 33 KiB each here) lives in the same RocksDB and counts toward the quota, so the
 * database passes etcd's 2 GiB default after a few minutes. Raised unless the caller sets it.
 */
const SOAK_QUOTA_BACKEND_BYTES = 8 * 1024 * 1024 * 1024;

export async function soakBench(opts: SoakOptions): Promise<SoakResult> {
  const args = [...(opts.memberArgs ?? [])];
  if (!args.some((a) => a.startsWith('--quota-backend-bytes'))) args.unshift(`--quota-backend-bytes=${SOAK_QUOTA_BACKEND_BYTES}`);
  const server = await startCairn({ extraArgs: args, env: opts.memberEnv ?? {} });
  const client = await connect({ endpoints: [server.endpoint], requestTimeoutMs: 30_000 });
  const large = valuePool(LARGE, 16);
  const small = valuePool(SMALL, 64);
  const samples: SoakSample[] = [];
  let puts = 0;
  let writtenBytes = 0;
  let errors = 0;
  let compactions = 0;
  let lastRevision = 0n;
  let stopped = false;
  const t0 = performance.now();
  let memberMemory: Record<string, number> | undefined;
  const scrape = async () => {
    try {
      const res = await fetch(`http://${server.endpoint}/metrics`, { signal: AbortSignal.timeout(2000) });
      memberMemory = memoryFromMetrics(await res.text());
    } catch {
      memberMemory = undefined;
    }
  };
  const sample = () => {
    samples.push({
      s: (performance.now() - t0) / 1000,
      rssBytes: rssOf(server.pid),
      writtenBytes,
      puts,
      dataDirBytes: dirBytes(server.dataDir),
      ...(memberMemory !== undefined ? { memberMemory } : {}),
    });
    void scrape();
  };
  try {
    sample();
    const sampler = setInterval(sample, SAMPLE_EVERY_MS);
    const compactor = setInterval(() => {
      const rev = lastRevision;
      if (rev === 0n) return;
      client.kv.compact(rev).then(
        () => compactions++,
        () => errors++,
      );
    }, COMPACT_EVERY_MS);
    const writer = async (w: number, size: number, keys: number, pool: Uint8Array[]) => {
      let i = w;
      while (!stopped) {
        const key = `soak/${size}/${String(i % keys).padStart(6, '0')}`;
        try {
          const res = await client.kv.put(key, pool[i % pool.length]!);
          if (res.header.revision > lastRevision) lastRevision = res.header.revision;
          puts++;
          writtenBytes += size;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, 50));
        }
        i += WRITERS_PER_SIZE;
      }
    };
    const loops: Promise<void>[] = [];
    for (let w = 0; w < WRITERS_PER_SIZE; w++) {
      loops.push(writer(w, LARGE, LARGE_KEYS, large));
      loops.push(writer(w, SMALL, SMALL_KEYS, small));
    }
    const progress = setInterval(() => {
      const last = samples[samples.length - 1]!;
      process.stderr.write(
        `  soak ${last.s.toFixed(0)} s: ${(writtenBytes / 1e9).toFixed(2)} GB written, RSS ${(last.rssBytes / 1e6).toFixed(0)} MB, data dir ${(last.dataDirBytes / 1e6).toFixed(0)} MB\n`,
      );
    }, 30_000);
    await new Promise((r) => setTimeout(r, opts.durationMs));
    stopped = true;
    await Promise.all(loops);
    clearInterval(sampler);
    clearInterval(compactor);
    clearInterval(progress);
    sample();
  } finally {
    client.close();
    await server.stop();
  }
  const seconds = samples[samples.length - 1]!.s;
  const rss = samples.map((s) => s.rssBytes);
  const lastFifth = samples.filter((s) => s.s >= seconds * 0.8).map((s) => s.rssBytes);
  return {
    durationMs: opts.durationMs,
    memberArgs: args,
    memberEnv: opts.memberEnv ?? {},
    largeValueBytes: LARGE,
    smallValueBytes: SMALL,
    largeKeys: LARGE_KEYS,
    smallKeys: SMALL_KEYS,
    writers: 2 * WRITERS_PER_SIZE,
    puts,
    writtenBytes,
    putsPerSec: puts / seconds,
    mbWrittenPerSec: writtenBytes / 1e6 / seconds,
    errors,
    compactions,
    rssStartBytes: rss[0]!,
    rssMaxBytes: Math.max(...rss),
    rssEndBytes: rss[rss.length - 1]!,
    rssLastFifthMaxBytes: Math.max(...lastFifth),
    dataDirEndBytes: samples[samples.length - 1]!.dataDirBytes,
    samples,
  };
}

/** An SVG line chart of RSS (MB) over bytes written (GB), one line per run. */
export function soakSvg(runs: readonly { readonly label: string; readonly samples: readonly SoakSample[] }[]): string {
  const W = 800;
  const H = 420;
  const left = 70;
  const right = 20;
  const top = 30;
  const bottom = 50;
  const maxX = Math.max(0.001, ...runs.flatMap((r) => r.samples.map((s) => s.writtenBytes / 1e9)));
  const maxY = Math.max(100, ...runs.flatMap((r) => r.samples.map((s) => s.rssBytes / 1e6))) * 1.05;
  const x = (gb: number) => left + (gb / maxX) * (W - left - right);
  const y = (mb: number) => H - bottom - (mb / maxY) * (H - top - bottom);
  const colors = ['#c0392b', '#2471a3', '#229954', '#7d3c98'];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">Member RSS over bytes written (pnpm bench --soak)</text>`);
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const gb = (maxX * i) / ticks;
    const mb = (maxY * i) / ticks;
    out.push(`<line x1="${x(gb)}" y1="${H - bottom}" x2="${x(gb)}" y2="${top}" stroke="#eee"/>`);
    out.push(`<text x="${x(gb)}" y="${H - bottom + 16}" text-anchor="middle">${gb.toFixed(2)}</text>`);
    out.push(`<line x1="${left}" y1="${y(mb)}" x2="${W - right}" y2="${y(mb)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${y(mb) + 4}" text-anchor="end">${mb.toFixed(0)}</text>`);
  }
  out.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="black"/>`);
  out.push(`<line x1="${left}" y1="${H - bottom}" x2="${left}" y2="${top}" stroke="black"/>`);
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 12}" text-anchor="middle">GB of values written</text>`);
  out.push(`<text x="16" y="${(top + H - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + H - bottom) / 2})">RSS, MB</text>`);
  if (maxY > 300) {
    out.push(`<line x1="${left}" y1="${y(300)}" x2="${W - right}" y2="${y(300)}" stroke="#888" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - right - 4}" y="${y(300) - 4}" text-anchor="end" fill="#555">goal: 300 MB</text>`);
  }
  runs.forEach((r, i) => {
    const color = colors[i % colors.length]!;
    const pts = r.samples.map((s) => `${x(s.writtenBytes / 1e9).toFixed(1)},${y(s.rssBytes / 1e6).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`);
    out.push(`<rect x="${left + 12}" y="${top + 8 + i * 18}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${left + 30}" y="${top + 13 + i * 18}">${escapeXml(r.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
