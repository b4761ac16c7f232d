// A simulated disk under one member: the simulator decides when each write completes, and a
// crash keeps only what was synced (plus, maybe, a prefix of the later unsynced writes, as an
// OS that flushed part of its page cache would). One SimDisk outlives the member's
// incarnations; each incarnation gets its own handle (a Backend), dead once it crashed.
import type { SeededRng } from '@cairn/raft';
import type { Backend, BackendReader, BatchOp, ScanRange } from '../src/storage/backend.js';
import { rowsReader } from '../src/storage/memory.js';
import type { Owner, SimLoop } from './loop.js';

type Op = BatchOp | { readonly type: 'clear'; readonly gte: string; readonly lt: string };

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** An ordered byte map: hex(key) -> [key, value], with a sorted key list rebuilt on demand. */
class Table {
  readonly rows = new Map<string, readonly [Uint8Array, Uint8Array]>();
  private sorted: string[] | undefined;

  clone(): Table {
    const t = new Table();
    for (const [k, v] of this.rows) t.rows.set(k, v);
    return t;
  }

  apply(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op.type === 'put') {
        const k = hex(op.key);
        if (!this.rows.has(k)) this.sorted = undefined;
        this.rows.set(k, [op.key.slice(), op.value.slice()]);
      } else if (op.type === 'del') {
        if (this.rows.delete(hex(op.key))) this.sorted = undefined;
      } else {
        for (const k of this.range(op.gte, op.lt)) this.rows.delete(k);
        this.sorted = undefined;
      }
    }
  }

  /** Keys in [gte, lt), ascending. */
  range(gte: string, lt: string): string[] {
    if (this.sorted === undefined) this.sorted = [...this.rows.keys()].sort();
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! < gte) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < s.length && s[i]! < lt; i++) out.push(s[i]!);
    return out;
  }
}

interface PendingWrite {
  readonly ops: readonly Op[];
  readonly sync: boolean;
  readonly resolve: () => void;
}

/** How long writes take, in simulated ms. */
export interface DiskTiming {
  /** A write takes [minMs, maxMs); with probability `stallRate` it takes up to `stallMs` more. */
  readonly minMs: number;
  readonly maxMs: number;
  readonly stallRate: number;
  readonly stallMs: number;
}

export class SimDisk {
  /** What survives any crash. */
  private durable = new Table();
  /** What reads see: durable plus completed unsynced writes. */
  private cache = new Table();
  /** Completed writes since the last sync, oldest first. */
  private unsynced: (readonly Op[])[] = [];
  /** Writes handed in and not completed, in order. */
  private queue: PendingWrite[] = [];
  private busy = false;
  /** Bumped by a crash: a completion armed before it is void. */
  private generation = 0;
  private incarnation: Owner | undefined;
  /** Writes completed; syncs completed; writes lost to crashes. */
  writes = 0;
  syncs = 0;
  lost = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly rng: SeededRng,
    private readonly timing: DiskTiming,
  ) {}

  /** A Backend for a new incarnation of the member (the previous one must be dead). */
  open(owner: Owner): Backend {
    this.incarnation = owner;
    return new DiskHandle(this, owner);
  }

  /** The process died: pending writes vanish, and unsynced ones unless the OS kept a prefix. */
  crash(keepSomeUnsynced: boolean): void {
    this.lost += this.queue.length;
    this.queue = [];
    this.busy = false;
    this.generation++;
    const keep = keepSomeUnsynced ? this.rng.nextInt(this.unsynced.length + 1) : 0;
    this.lost += this.unsynced.length - keep;
    for (const ops of this.unsynced.slice(0, keep)) this.durable.apply(ops);
    this.unsynced = [];
    this.cache = this.durable.clone();
    this.incarnation = undefined;
  }

  /** Writes handed in and not completed. */
  get writesInFlight(): number {
    return this.queue.length;
  }

  /** Bytes in the cache view (for sizeBytes). */
  size(): number {
    let n = 0;
    for (const [k, v] of this.cache.rows.values()) n += k.length + v.length;
    return n;
  }

  // Reads need no owner check: a dead incarnation may still run a few microtasks, and it
  // reads what it would have seen; only its writes are discarded.
  get(key: Uint8Array): Uint8Array | undefined {
    return this.cache.rows.get(hex(key))?.[1];
  }

  *scan(r: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    const keys = this.cache.range(hex(r.gte), hex(r.lt));
    if (r.reverse === true) keys.reverse();
    const limit = r.limit ?? Infinity;
    let n = 0;
    for (const k of keys) {
      if (n++ >= limit) return;
      const row = this.cache.rows.get(k);
      if (row !== undefined) yield row;
    }
  }

  rows(gte: Uint8Array, lt: Uint8Array): (readonly [string, readonly [Uint8Array, Uint8Array]])[] {
    return this.cache.range(hex(gte), hex(lt)).map((k) => [k, this.cache.rows.get(k)!] as const);
  }

  /** Queues a write; it completes (in order) when the simulator says so. A dead incarnation's never does. */
  write(owner: Owner, ops: readonly Op[], sync: boolean): Promise<void> {
    if (!owner.alive || owner !== this.incarnation) return new Promise<void>(() => undefined);
    return new Promise<void>((resolve) => {
      this.queue.push({ ops, sync, resolve });
      this.pump();
    });
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const t = this.timing;
    let ms = t.minMs + this.rng.nextFloat() * (t.maxMs - t.minMs);
    if (this.rng.nextFloat() < t.stallRate) ms += this.rng.nextFloat() * t.stallMs;
    const generation = this.generation;
    this.loop.at(this.loop.sim, ms, () => {
      if (generation !== this.generation) return;
      const w = this.queue.shift();
      this.busy = false;
      if (w === undefined) return;
      this.cache.apply(w.ops);
      this.writes++;
      if (w.sync) {
        // An fsync makes every earlier write durable too (one log, written in order).
        for (const ops of this.unsynced) this.durable.apply(ops);
        this.durable.apply(w.ops);
        this.unsynced = [];
        this.syncs++;
      } else {
        this.unsynced.push(w.ops);
      }
      // The disk finished; a paused process learns of it when it resumes.
      const owner = this.incarnation;
      if (owner?.pausedUntil !== undefined && owner.pausedUntil > this.loop.now) this.loop.at(owner, 0, w.resolve);
      else w.resolve();
      this.pump();
    });
  }
}

/** One incarnation's view of its disk, as the Backend contract describes it. */
type Row = readonly [string, readonly [Uint8Array, Uint8Array]];

/** The rows of pinned tables as they were at `pin` (Backend.pin). */
class Frozen {
  private readonly byKey: Map<string, readonly [Uint8Array, Uint8Array]>;
  constructor(
    private readonly tables: ReadonlySet<number>,
    private readonly sorted: readonly Row[],
  ) {
    this.byKey = new Map(sorted);
  }
  covers(key: Uint8Array): boolean {
    return key.length > 0 && this.tables.has(key[0]!);
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.byKey.get(hex(key))?.[1];
  }
  rows(gte: Uint8Array, lt: Uint8Array): Row[] {
    const lo = hex(gte);
    const hi = hex(lt);
    return this.sorted.filter(([k]) => k >= lo && k < hi);
  }
}

class DiskHandle implements Backend {
  private frozen: Frozen | undefined;

  constructor(
    private readonly disk: SimDisk,
    private readonly owner: Owner,
  ) {}

  get(key: Uint8Array): Uint8Array | undefined {
    const f = this.frozen;
    return f !== undefined && f.covers(key) ? f.get(key) : this.disk.get(key);
  }

  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    const f = this.frozen;
    if (f === undefined || !f.covers(range.gte)) return this.disk.scan(range);
    const rows = f.rows(range.gte, range.lt).map(([, kv]) => kv);
    if (range.reverse === true) rows.reverse();
    return rows.slice(0, range.limit ?? rows.length);
  }

  pin(tables: readonly number[]): () => void {
    if (this.frozen !== undefined) throw new Error('sim disk: already pinned');
    const set = new Set(tables);
    const all = this.disk.rows(new Uint8Array([0x00]), new Uint8Array([0xff]));
    const view = new Frozen(set, all.filter(([k]) => set.has(parseInt(k.slice(0, 2), 16))));
    this.frozen = view;
    return () => {
      if (this.frozen === view) this.frozen = undefined;
    };
  }

  write(ops: readonly BatchOp[], options: { readonly sync: boolean }): Promise<void> {
    return this.disk.write(this.owner, ops.slice(), options.sync);
  }

  clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void> {
    return this.disk.write(this.owner, [{ type: 'clear', gte: hex(range.gte), lt: hex(range.lt) }], false);
  }

  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader {
    // A point-in-time copy of the range (the contract: later writes are not seen).
    const f = this.frozen;
    const rows = f !== undefined && f.covers(range.gte) ? f.rows(range.gte, range.lt) : this.disk.rows(range.gte, range.lt);
    return rowsReader(rows);
  }

  sizeBytes(): number {
    return this.disk.size();
  }

  async close(): Promise<void> {}
}
