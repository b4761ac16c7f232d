import type { BackendReader, ScanRange } from './backend.js';

/** The native iterator calls a pinned view uses (a RocksDB iterator, see rocks.ts). */
export interface SeekIterator {
  _nextvSync(size: number, options: object): { rows: Uint8Array[]; finished: boolean };
  /** Forward: the first key >= target. Reverse: the last key <= target. */
  seek(target: Uint8Array): void;
  close(): Promise<void>;
}

/** Rows fetched per native call. */
const CHUNK_ROWS = 512;

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Reads of some tables frozen at one moment (Backend.pin): two RocksDB iterators (one forward,
 * one reverse) opened then, over every key, read through their implicit snapshot. Each read
 * seeks before it reads, so any number of gets, scans and readers can share the iterators
 * (a scan re-seeks after the last key it returned whenever it resumes). The iterators live
 * until the pin is released and the last reader or scan using them has finished.
 */
export class PinnedView {
  private users = 0;
  private released = false;
  private closed = false;

  constructor(
    private readonly tables: ReadonlySet<number>,
    private readonly fwd: SeekIterator,
    private readonly rev: SeekIterator,
  ) {}

  /** Whether reads of `key` (or of a range starting at it) come from this view. */
  covers(key: Uint8Array): boolean {
    return key.length > 0 && this.tables.has(key[0]!);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.fwd.seek(key);
    const { rows } = this.fwd._nextvSync(1, {});
    const k = rows[0];
    return k !== undefined && compareBytes(k, key) === 0 ? rows[1] : undefined;
  }

  /** Up to `max` rows of `range` after `after` (exclusive; undefined: from the range's start). */
  private chunk(range: ScanRange, after: Uint8Array | undefined, max: number): (readonly [Uint8Array, Uint8Array])[] {
    const reverse = range.reverse === true;
    const it = reverse ? this.rev : this.fwd;
    it.seek(after ?? (reverse ? range.lt : range.gte));
    const { rows } = it._nextvSync(max + 1, {});
    const out: (readonly [Uint8Array, Uint8Array])[] = [];
    for (let i = 0; i + 1 < rows.length && out.length < max; i += 2) {
      const k = rows[i]!;
      // The seek lands on `after` itself (or, reversed, on `lt`): not part of the answer.
      if (after !== undefined && compareBytes(k, after) === 0) continue;
      if (reverse) {
        if (compareBytes(k, range.lt) >= 0) continue;
        if (compareBytes(k, range.gte) < 0) break;
      } else if (compareBytes(k, range.lt) >= 0) break;
      out.push([k, rows[i + 1]!]);
    }
    return out;
  }

  *scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    this.users++;
    try {
      let left = range.limit ?? Infinity;
      let after: Uint8Array | undefined;
      while (left > 0) {
        const rows = this.chunk(range, after, Math.min(CHUNK_ROWS, left));
        if (rows.length === 0) return;
        for (const row of rows) yield row;
        left -= rows.length;
        after = rows[rows.length - 1]![0];
      }
    } finally {
      this.done();
    }
  }

  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader {
    this.users++;
    let from = range.gte;
    let after: Uint8Array | undefined;
    let closed = false;
    return {
      next: (maxRows) => {
        if (closed) return [];
        const rows = this.chunk({ gte: from, lt: range.lt }, after, maxRows);
        if (rows.length > 0) after = rows[rows.length - 1]![0];
        return rows;
      },
      seek: (key) => {
        from = compareBytes(key, range.gte) < 0 ? range.gte : key;
        after = undefined;
      },
      close: () => {
        if (closed) return;
        closed = true;
        this.done();
      },
    };
  }

  /** The pin is over: no new reads come here; the iterators close once the last user is done. */
  release(): void {
    this.released = true;
    this.maybeClose();
  }

  private done(): void {
    this.users--;
    this.maybeClose();
  }

  private maybeClose(): void {
    if (!this.released || this.users > 0 || this.closed) return;
    this.closed = true;
    void this.fwd.close();
    void this.rev.close();
  }
}
