import { KeyIndex } from './keyIndex.js';
import { SortedKeys } from './sortedKeys.js';

/**
 * Byte keys as strings for ordered lookup: each byte becomes one UTF-16 code unit (latin1),
 * and JS compares strings by code unit, so the strings sort exactly like the unsigned bytes.
 */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * The in-memory index of every key the history still mentions: key -> KeyIndex (a Map hit),
 * plus the keys in order for range scans (SortedKeys).
 */
export class KeyTree {
  private readonly byKey = new Map<string, KeyIndex>();
  private readonly sorted = new SortedKeys();
  /** While loading, new keys are collected unsorted; `endBulkLoad` sorts them once. */
  private bulk: string[] | undefined;

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  getOrCreate(key: string, bytes: Uint8Array): KeyIndex {
    let ki = this.byKey.get(key);
    if (ki === undefined) {
      ki = new KeyIndex(bytes.slice());
      this.byKey.set(key, ki);
      if (this.bulk !== undefined) this.bulk.push(key);
      else this.sorted.insert(key);
    }
    return ki;
  }

  delete(key: string): void {
    if (this.byKey.delete(key)) this.sorted.delete(key);
  }

  /** Removes many keys with one pass over the sorted keys. */
  deleteMany(keys: ReadonlySet<string>): void {
    if (keys.size === 0) return;
    for (const k of keys) this.byKey.delete(k);
    this.sorted.deleteMany(keys);
  }

  beginBulkLoad(): void {
    this.bulk = this.sorted.toArray();
  }

  endBulkLoad(): void {
    const keys = this.bulk ?? [];
    this.bulk = undefined;
    keys.sort();
    this.sorted.load(keys);
  }

  /**
   * Calls `visit` for every key in [start, end) in ascending order; `end` undefined means to
   * the end of the keyspace. Stops early when `visit` returns false.
   */
  forEachInRange(start: string, end: string | undefined, visit: (ki: KeyIndex, key: string) => boolean | void): void {
    this.sorted.forEachFrom(start, (k) => {
      if (end !== undefined && k >= end) return false;
      return visit(this.byKey.get(k)!, k) !== false;
    });
  }

  /** Number of keys in [start, end) (`end` undefined: to the end of the keyspace), without visiting them. */
  countInRange(start: string, end: string | undefined): number {
    if (this.bulk !== undefined) {
      let n = 0;
      this.forEachInRange(start, end, () => void n++);
      return n;
    }
    return this.sorted.countInRange(start, end);
  }

  /** Every key in order (compaction walks all of them). */
  keys(): string[] {
    return this.sorted.toArray();
  }
}
