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
  private readonly data = new Map<string, readonly [Uint8Array, Uint8Array]>();
  private unapplied = 0;

  get(key: Uint8Array): Uint8Array | undefined {
    return this.data.get(hex(key))?.[1];
  }

  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  *scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    const lo = hex(range.gte);
    const hi = hex(range.lt);
    const keys = [...this.data.keys()].filter((k) => k >= lo && k < hi).sort();
    if (range.reverse === true) keys.reverse();
    const limit = range.limit ?? Infinity;
    let n = 0;
    for (const k of keys) {
      if (n++ >= limit) return;
      yield this.data.get(k)!;
    }
  }

  async write(ops: readonly BatchOp[], _options: { readonly sync: boolean }): Promise<void> {
    const copy = ops.slice();
    this.unapplied++;
    await Promise.resolve();
    this.unapplied--;
    for (const op of copy) {
      if (op.type === 'put') this.data.set(hex(op.key), [op.key.slice(), op.value.slice()]);
      else this.data.delete(hex(op.key));
    }
  }

  async clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void> {
    await Promise.resolve();
    const lo = hex(range.gte);
    const hi = hex(range.lt);
    for (const k of [...this.data.keys()]) if (k >= lo && k < hi) this.data.delete(k);
  }

  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader {
    const lo = hex(range.gte);
    const hi = hex(range.lt);
    const rows = [...this.data.entries()].filter(([k]) => k >= lo && k < hi).sort((a, b) => (a[0] < b[0] ? -1 : 1));
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

  /** Number of batches handed to `write` whose promise has not resolved. */
  get writesInFlight(): number {
    return this.unapplied;
  }

  sizeBytes(): number {
    let n = 0;
    for (const [k, v] of this.data.values()) n += k.length + v.length;
    return n;
  }

  async close(): Promise<void> {}
}
