/**
 * A sorted set of strings as a list of sorted chunks, so inserting a key costs a binary search
 * and a splice inside one chunk (at most MAX_CHUNK entries) instead of moving every key after
 * it: a million random inserts take seconds, not minutes.
 *
 * Invariants: every chunk is sorted and non-empty (except the single chunk of an empty set);
 * the last key of chunk i is below the first key of chunk i + 1; no chunk holds more than
 * maxChunkKeys keys.
 */
export class SortedKeys {
  private chunks: string[][] = [[]];
  private count = 0;

  constructor(private readonly maxChunkKeys = 1024) {}

  get size(): number {
    return this.count;
  }

  /** Index of the chunk that holds `key` or where it would go. */
  private chunkFor(key: string): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    // The first chunk whose last key is >= key (or the last chunk).
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      if (c[c.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `key`; it must not be present. */
  insert(key: string): void {
    const ci = this.chunkFor(key);
    const c = this.chunks[ci]!;
    c.splice(lowerBound(c, key), 0, key);
    this.count++;
    if (c.length > this.maxChunkKeys) this.chunks.splice(ci + 1, 0, c.splice(c.length >> 1));
  }

  delete(key: string): boolean {
    const ci = this.chunkFor(key);
    const c = this.chunks[ci]!;
    const i = lowerBound(c, key);
    if (c[i] !== key) return false;
    c.splice(i, 1);
    this.count--;
    if (c.length === 0 && this.chunks.length > 1) this.chunks.splice(ci, 1);
    return true;
  }

  /** Removes every key in `keys` with one pass. */
  deleteMany(keys: ReadonlySet<string>): void {
    if (keys.size === 0) return;
    const all: string[] = [];
    for (const c of this.chunks) for (const k of c) if (!keys.has(k)) all.push(k);
    this.load(all);
  }

  /** Replaces the content with `sortedKeys` (ascending, distinct). */
  load(sortedKeys: readonly string[]): void {
    const chunks: string[][] = [];
    const half = Math.max(1, this.maxChunkKeys >> 1);
    for (let i = 0; i < sortedKeys.length; i += half) chunks.push(sortedKeys.slice(i, i + half));
    this.chunks = chunks.length === 0 ? [[]] : chunks;
    this.count = sortedKeys.length;
  }

  /** Calls `visit` for each key >= start in ascending order until it returns false. */
  forEachFrom(start: string, visit: (key: string) => boolean): void {
    const chunks = this.chunks;
    let ci = this.chunkFor(start);
    let i = lowerBound(chunks[ci]!, start);
    for (; ci < chunks.length; ci++, i = 0) {
      const c = chunks[ci]!;
      for (; i < c.length; i++) if (!visit(c[i]!)) return;
    }
  }

  /** Number of keys k with start <= k < end (end undefined: no upper bound), by binary search. */
  countInRange(start: string, end: string | undefined): number {
    const below = (key: string | undefined): number => {
      if (key === undefined) return this.count;
      const ci = this.chunkFor(key);
      let n = 0;
      for (let i = 0; i < ci; i++) n += this.chunks[i]!.length;
      return n + lowerBound(this.chunks[ci]!, key);
    };
    if (end !== undefined && end <= start) return 0;
    return below(end) - below(start);
  }

  /** Every key in order. */
  toArray(): string[] {
    const out: string[] = [];
    for (const c of this.chunks) for (const k of c) out.push(k);
    return out;
  }
}

function lowerBound(s: readonly string[], key: string): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
