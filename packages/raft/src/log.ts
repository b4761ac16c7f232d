import { isStorageError } from './errors.js';
import type { Storage } from './storage.js';
import { limitSize } from './storage.js';
import type { Entry, Snapshot } from './types.js';

/**
 * Entries (and possibly an incoming snapshot) that raft has accepted but the driver has not
 * yet persisted. Invariant: if `snapshot` is set, entries start right after it
 * (offset = snapshot.index + 1); entries[i] has index offset + i.
 */
export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /**
   * What a Ready handed out and the driver has not yet reported durable: entries below
   * `inProgress` (at or above `offset`), and the snapshot when `snapshotInProgress`. The next
   * Ready holds only what comes after them (pipelined writes, RawNode.ready).
   */
  inProgress: number;
  snapshotInProgress = false;
  constructor(public offset: number) {
    this.inProgress = offset;
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  term(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== null && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.lastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** The driver persisted entries up to (i, t): drop them, unless they were replaced meanwhile. */
  stableTo(i: number, t: number): void {
    const gt = this.term(i);
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
      if (this.inProgress < this.offset) this.inProgress = this.offset;
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === i) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.inProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Entries not yet handed out in a Ready. */
  toHandOut(): Entry[] {
    return this.entries.slice(this.inProgress - this.offset);
  }

  /** Whether anything (entries or a snapshot) waits to be handed out in a Ready. */
  hasToHandOut(): boolean {
    return this.inProgress < this.offset + this.entries.length || (this.snapshot !== null && !this.snapshotInProgress);
  }

  /** A Ready took everything unstable: later Readys start after it. */
  handedOut(): void {
    this.inProgress = this.offset + this.entries.length;
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  /** Appends, truncating any conflicting suffix (ents[0].index may be below lastIndex+1). */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable; the persisted suffix from `after` on is superseded and
      // will be overwritten when the driver persists these entries.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
    // Entries from `after` on are new, even where a Ready in flight held older ones there:
    // the next Ready writes them again (after that write, which lands first).
    if (this.inProgress > after) this.inProgress = Math.max(after, this.offset);
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/**
 * The node's view of the log: stable entries in Storage followed by unstable ones.
 * Invariants: applied <= committed <= lastIndex(); committed entries are never truncated.
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;
  /** The last committed index handed out in a Ready (applied, or being applied): >= applied. */
  applying: number;

  constructor(readonly storage: Storage) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    const s = this.unstable.snapshot;
    return s !== null ? s.metadata.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  /**
   * The last index up to which this log is known durable: the persisted prefix that the
   * unstable tail does not replace. Entries handed out in a Ready count only after `advance()`.
   * 0 while a received snapshot is not yet persisted.
   */
  stableIndex(): number {
    if (this.unstable.snapshot !== null) return 0;
    return Math.min(this.unstable.offset - 1, this.storage.lastIndex());
  }

  /** Term of entry i, or undefined if i is compacted or beyond lastIndex(). */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.term(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (isStorageError(e, 'compacted') || isStorageError(e, 'unavailable')) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** A candidate's log (lastIndex, lastTerm) is at least as up-to-date as ours (§5.4.1). */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /** First index whose term differs from ents' (0 if none: all present or all new). */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * Follower side of AppendEntries: if our entry at `index` has term `logTerm`, merge `ents`
   * (truncating a conflicting suffix, never a committed entry) and advance commit to
   * min(commit, last new index). Returns the last new index and the first index written
   * (0 if nothing was written), or undefined when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: readonly Entry[]): { lastNew: number; conflict: number } | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`raft: entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(ci - index - 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return { lastNew, conflict: ci };
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) throw new Error(`raft: appending after ${after} is below committed ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  commitTo(c: number): void {
    if (c > this.committed) {
      if (c > this.lastIndex()) throw new Error(`raft: commit ${c} beyond lastIndex ${this.lastIndex()}`);
      this.committed = c;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) throw new Error(`raft: applied ${i} out of range [${this.applied}, ${this.committed}]`);
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  /** A snapshot at `i` is installed: the application's state is at `i`. */
  appliedSnapshot(i: number): void {
    if (i > this.applied) this.applied = i;
    if (i > this.applying) this.applying = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Committed entries not yet handed to the application (none while a snapshot is pending). */
  nextCommittedEnts(maxBytes: number): Entry[] {
    if (this.unstable.snapshot !== null) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, maxBytes);
  }

  hasNextCommittedEnts(): boolean {
    if (this.unstable.snapshot !== null) return false;
    return this.committed + 1 > Math.max(this.applying + 1, this.firstIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries [lo, hi) limited to maxBytes (at least one). Throws StorageError('compacted') if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      ents = this.storage.entries(lo, Math.min(hi, off), maxBytes);
      if (ents.length < Math.min(hi, off) - lo) return ents; // size-limited
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }

  /** Largest index <= atMost whose term equals t, or undefined. Terms are non-decreasing along the log. */
  lastIndexOfTerm(t: number, atMost: number): number | undefined {
    let i = Math.min(atMost, this.lastIndex());
    for (; ; i--) {
      const ti = this.term(i);
      if (ti === undefined || ti < t) return undefined;
      if (ti === t) return i;
    }
  }

  /** First index of the run of entries with the same term as entry i, not going below floor. */
  firstIndexOfTermAt(i: number, floor: number): number {
    const t = this.term(i);
    while (i - 1 > floor && this.term(i - 1) === t) i--;
    return i;
  }

  /** Replaces the log with a snapshot received from the leader. */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }
}
