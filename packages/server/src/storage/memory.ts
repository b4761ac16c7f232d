import type { Backend, BackendReader, BatchOp, ScanRange } from './backend.js';

const hex = (b: Uint8Array): string => {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
};

/**
 * An in-memory Backend for tests and simulation. `write` is applied when its promise resolves
 * (a microtask later), and `crash()` forgets every batch not yet applied, like a process
 * killed before fsync.
 */
export class MemoryBackend implements Backend {
  /** hex(key) -> [key, value]; hex strings sort like the unsigned bytes they encode. */
  private data = new Map<string, readonly [Uint8Array, Uint8Array]>();
  /** While pinned: the live map (writes go there), and the pinned tables' first bytes. */
  private live: Map<string, readonly [Uint8Array, Uint8Array]> | undefined;
  private pinnedTables: ReadonlySet<number> | undefined;
  private unapplied = 0;

  /** The map reads of `key` use: the copy taken at `pin` for pinned tables, else the live one. */
  private view(key: Uint8Array): Map<string, readonly [Uint8Array, Uint8Array]> {
    return this.live !== undefined && key.length > 0 && this.pinnedTables!.has(key[0]!) ? this.data : this.live ?? this.data;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.view(key).get(hex(key))?.[1];
  }

  pin(tables: readonly number[]): () => void {
    if (this.live !== undefined) throw new Error('memory backend: already pinned');
    // `data` stays the frozen copy readers of pinned tables see; writes go to `live`.
    this.live = new Map(this.data);
    this.pinnedTables = new Set(tables);
    return () => {
      if (this.live === undefined) return;
      this.data = this.live;
      this.live = undefined;
      this.pinnedTables = undefined;
    };
  }

  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  *scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    const lo = hex(range.gte);
    const hi = hex(range.lt);
    const data = this.view(range.gte);
    const keys = [...data.keys()].filter((k) => k >= lo && k < hi).sort();
    if (range.reverse === true) keys.reverse();
    const limit = range.limit ?? Infinity;
    let n = 0;
    for (const k of keys) {
      if (n++ >= limit) return;
      yield data.get(k)!;
    }
  }

  async write(ops: readonly BatchOp[], _options: { readonly sync: boolean }): Promise<void> {
    const copy = ops.slice();
    this.unapplied++;
    await Promise.resolve();
    this.unapplied--;
    const data = this.live ?? this.data;
    for (const op of copy) {
      if (op.type === 'put') data.set(hex(op.key), [op.key.slice(), op.value.slice()]);
      else data.delete(hex(op.key));
    }
  }

  async clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void> {
    await Promise.resolve();
    const lo = hex(range.gte);
    const hi = hex(range.lt);
    const data = this.live ?? this.data;
    for (const k of [...data.keys()]) if (k >= lo && k < hi) data.delete(k);
  }

  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader {
    const lo = hex(range.gte);
    const hi = hex(range.lt);
    const rows = [...this.view(range.gte).entries()].filter(([k]) => k >= lo && k < hi).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return rowsReader(rows);
  }

  /** Number of batches handed to `write` whose promise has not resolved. */
  get writesInFlight(): number {
    return this.unapplied;
  }

  sizeBytes(): number {
    let n = 0;
    for (const [k, v] of (this.live ?? this.data).values()) n += k.length + v.length;
    return n;
  }

  async close(): Promise<void> {}
}

/**
 * A BackendReader over rows already copied out (hex(key) -> [key, value], sorted by hex key):
 * a point-in-time view, since later writes do not touch the copy.
 */
export function rowsReader(rows: readonly (readonly [string, readonly [Uint8Array, Uint8Array]])[]): BackendReader {
  let at = 0;
  return {
    next(maxRows) {
      const out = rows.slice(at, at + maxRows).map(([, kv]) => kv);
      at += out.length;
      return out;
    },
    seek(key) {
      const k = hex(key);
      at = rows.findIndex(([h]) => h >= k);
      if (at < 0) at = rows.length;
    },
    close() {
      at = rows.length;
    },
  };
}
