import { KeyIndex } from './keyIndex.js';

/**
 * Byte keys as strings for ordered lookup: each byte becomes one UTF-16 code unit (latin1),
 * and JS compares strings by code unit, so the strings sort exactly like the unsigned bytes.
 */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * The in-memory index of every key the history still mentions: key -> KeyIndex, plus the keys
 * in sorted order for range scans. Insertion of a new key is a binary search and an array
 * splice (a memmove; ~1 ms at a million keys), lookups are a Map hit.
 */
export class KeyTree {
  private readonly byKey = new Map<string, KeyIndex>();
  /** Every key of `byKey`, sorted. */
  private readonly sorted: string[] = [];

  get size(): number {
    return this.sorted.length;
  }

  get(key: string): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  getOrCreate(key: string, bytes: Uint8Array): KeyIndex {
    let ki = this.byKey.get(key);
    if (ki === undefined) {
      ki = new KeyIndex(bytes.slice());
      this.byKey.set(key, ki);
      if (this.bulk) this.sorted.push(key);
      else this.sorted.splice(this.lowerBound(key), 0, key);
    }
    return ki;
  }

  delete(key: string): void {
    if (!this.byKey.delete(key)) return;
    const i = this.lowerBound(key);
    this.sorted.splice(i, 1);
  }

  /** Removes many keys with one pass over the sorted array. */
  deleteMany(keys: ReadonlySet<string>): void {
    if (keys.size === 0) return;
    for (const k of keys) this.byKey.delete(k);
    let w = 0;
    for (const k of this.sorted) if (!keys.has(k)) this.sorted[w++] = k;
    this.sorted.length = w;
  }

  /** While loading, new keys are appended unsorted; `endBulkLoad` sorts once. */
  private bulk = false;
  beginBulkLoad(): void {
    this.bulk = true;
  }
  endBulkLoad(): void {
    this.bulk = false;
    this.sorted.sort();
  }

  /**
   * Calls `visit` for every key in [start, end) in ascending order; `end` undefined means to
   * the end of the keyspace. Stops early when `visit` returns false.
   */
  forEachInRange(start: string, end: string | undefined, visit: (ki: KeyIndex, key: string) => boolean | void): void {
    const sorted = this.sorted;
    for (let i = this.lowerBound(start); i < sorted.length; i++) {
      const k = sorted[i]!;
      if (end !== undefined && k >= end) return;
      if (visit(this.byKey.get(k)!, k) === false) return;
    }
  }

  /** Every key in order (compaction walks all of them). */
  keys(): readonly string[] {
    return this.sorted;
  }

  private lowerBound(key: string): number {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
