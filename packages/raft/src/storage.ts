import { StorageError } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_CONF_STATE, EMPTY_HARD_STATE, entrySize } from './types.js';

/**
 * Read side of a node's durable state, consulted synchronously by raft.
 *
 * Contract (the server implements this over RocksDB with an in-memory tail cache):
 * - The log is the contiguous range [firstIndex(), lastIndex()], preceded by the last
 *   snapshot at index firstIndex()-1. An empty log has firstIndex() = lastIndex()+1.
 * - Only what the driver has persisted is visible here: raft keeps unpersisted entries
 *   itself and hands them out in Ready.entries; the driver writes them with
 *   `append`-like semantics (an entry at index i replaces i and everything after it).
 * - `term(firstIndex()-1)` returns the snapshot's term (0 for an empty storage).
 * - Out-of-range reads throw `StorageError('compacted')` (below firstIndex()-1 for term(),
 *   below firstIndex() for entries()) or `StorageError('unavailable')` (above lastIndex()).
 * - `snapshot()` may throw `StorageError('snapshotTemporarilyUnavailable')`; raft retries later.
 * - All methods are synchronous and must not call back into raft.
 */
export interface Storage {
  /**
   * The persisted HardState, and the ConfState of the latest snapshot (membership at
   * firstIndex()-1). Raft rebuilds later memberships from confChange entries in the log.
   */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), at least one if lo < hi, truncated to about `maxBytes` bytes. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/** Takes entries from the front of `ents` while their size fits `maxBytes` (always at least one). */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * In-memory Storage, used by tests, the simulator and benchmarks. ents[0] is a dummy entry
 * standing for the snapshot (index and term of the snapshot), so the log is ents[1..].
 * Mutations are the driver's "persist" operations.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE } };
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** The persisted HardState. */
  getHardState(): HardState {
    return this.hardState;
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.offset();
    if (lo <= off) throw new StorageError('compacted');
    if (hi > this.lastIndex() + 1) throw new StorageError('unavailable');
    if (lo >= hi) return [];
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes);
  }

  term(i: number): number {
    const off = this.offset();
    if (i < off) throw new StorageError('compacted');
    if (i - off >= this.ents.length) throw new StorageError('unavailable');
    return this.ents[i - off]!.term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole state with a snapshot received from the leader (Ready.snapshot). */
  applySnapshot(s: Snapshot): void {
    if (s.metadata.index <= this.snap.metadata.index) throw new StorageError('snapOutOfDate');
    this.snap = s;
    this.ents = [{ term: s.metadata.term, index: s.metadata.index, type: 'normal', data: new Uint8Array(0) }];
  }

  /**
   * Records a snapshot of the application state at applied index `i` (i <= lastIndex()).
   * Entries up to `i` stay until `compact` is called.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new StorageError('snapOutOfDate');
    if (i > this.lastIndex()) throw new StorageError('unavailable');
    this.snap = { data, metadata: { index: i, term: this.term(i), confState } };
    return this.snap;
  }

  /** Discards entries before `compactIndex` (which becomes the new dummy entry). */
  compact(compactIndex: number): void {
    const off = this.offset();
    if (compactIndex <= off) throw new StorageError('compacted');
    if (compactIndex > this.lastIndex()) throw new StorageError('unavailable');
    const e = this.ents[compactIndex - off]!;
    this.ents = [{ term: e.term, index: e.index, type: 'normal', data: new Uint8Array(0) }, ...this.ents.slice(compactIndex - off + 1)];
  }

  /**
   * Persists entries (Ready.entries). They must be contiguous; an entry at index i replaces
   * the stored entry at i and everything after it. Entries at or below the snapshot are ignored.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const off = ents[0]!.index - this.offset();
    if (off > this.ents.length) throw new Error(`raft storage: gap appending ${ents[0]!.index} after ${this.lastIndex()}`);
    this.ents.length = off;
    for (const e of ents) this.ents.push(e);
  }
}
