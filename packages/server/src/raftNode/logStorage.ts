import { decodeValue, encodeValue } from '@cairn/protocol';
import {
  EMPTY_BYTES,
  EMPTY_CONF_STATE,
  EMPTY_HARD_STATE,
  StorageError,
  entrySize,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type SnapshotMetadata,
  type Storage,
} from '@cairn/raft';
import type { Backend, BatchOp } from '../storage/backend.js';
import { TABLE_RAFT, readU64, u64Key } from '../storage/keyspace.js';
import { invariant } from '../mvcc/revision.js';
import { decodeConfState } from '../apply/membership.js';

/** Payload bytes of the raft log tail kept in memory. */
export const DEFAULT_MAX_CACHED_LOG_BYTES = 16 * 1024 * 1024;

/**
 * The raft log of one member in its RocksDB, under table 'r':
 *
 *   'r' 'e' index:u64be -> term:f64be | type:u8 (0 normal, 1 confChange) | data
 *   'r' 'h'             -> HardState { term, vote, commit }
 *   'r' 's'             -> SnapshotMetadata of the log's base: the log starts right after it
 *   'r' 'p'             -> SnapshotMetadata of the next base (see `snapshotAt`)
 *
 * The snapshot here is metadata only: a follower that needs one is streamed the live state
 * machine instead (raftNode/snapshot.ts), so raft's `Snapshot.data` is always empty.
 *
 * Reads are synchronous (raft's Storage contract). Terms of every stored entry are kept in
 * memory (8 bytes each); entry bodies only for a recent tail, older ones are read from
 * RocksDB. Writes come in two steps: `append`/`setHardState`/... return batch operations for
 * the driver's one write per Ready, and the matching `...Persisted` call makes them visible
 * once that write has resolved: raft must only see what is durable. Several appends may be
 * in flight (pipelined Readys): each is built against the log as the ones before it leave it.
 */
export class LogStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  /** Base of the log: index and term of the entry before the first one, and membership there. */
  private base: SnapshotMetadata = { index: 0, term: 0, confState: EMPTY_CONF_STATE };
  private next: SnapshotMetadata | undefined;
  /** terms[i] is the term of entry base.index + 1 + i. */
  private terms: number[] = [];
  /** sizes[i]: bytes (key and value) entry base.index + 1 + i takes on disk; their sum. */
  private sizes: number[] = [];
  private entryBytes = 0;
  /**
   * Where the log on disk will end once the appends sent and not yet persisted land (the
   * driver pipelines its writes), and how many those are; undefined when none is in flight.
   */
  private sentLast: number | undefined;
  private appendsInFlight = 0;
  /** Recent entries by index (a bounded tail, in entries and in payload bytes). */
  private readonly cache = new Map<number, Entry>();
  private cachedBytes = 0;

  private constructor(
    private readonly backend: Backend,
    private readonly maxCachedEntries: number,
    private readonly maxCachedBytes: number,
  ) {}

  /**
   * `maxCachedBytes` bounds the memory of the tail kept for followers and the applier: with
   * 64 KiB values 4096 entries alone would be 256 MiB. Older entries are read from RocksDB.
   */
  static load(backend: Backend, maxCachedEntries = 4096, maxCachedBytes = DEFAULT_MAX_CACHED_LOG_BYTES): LogStorage {
    const s = new LogStorage(backend, maxCachedEntries, maxCachedBytes);
    const hs = backend.get(HARD_STATE_KEY);
    if (hs !== undefined) s.hardState = decodeHardState(hs);
    const base = backend.get(BASE_KEY);
    if (base !== undefined) s.base = decodeMeta(base);
    const next = backend.get(NEXT_KEY);
    if (next !== undefined) s.next = decodeMeta(next);
    let expect = s.base.index + 1;
    for (const [k, v] of backend.scan({ gte: entryKey(s.base.index + 1), lt: ENTRY_END })) {
      const index = Number(readU64(k, 2));
      // A crash between a truncating append and the deletion of the old tail cannot happen
      // (one batch), but a gap would mean a corrupt log: stop.
      invariant(index === expect, `raft log: entry ${index} found where ${expect} was expected`);
      s.terms.push(decodeEntry(index, v).term);
      s.sizes.push(k.length + v.length);
      s.entryBytes += k.length + v.length;
      expect++;
    }
    return s;
  }

  // ---- raft's Storage ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.base.confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.base.index) throw new StorageError('compacted');
    if (hi > this.lastIndex() + 1) throw new StorageError('unavailable');
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; ) {
      let run: Entry[];
      const cached = this.cache.get(i);
      if (cached !== undefined) run = [cached];
      else {
        // Not cached: read a run from disk, up to the next cached entry (at most 256).
        let end = i + 1;
        while (end < hi && !this.cache.has(end) && end - i < 256) end++;
        run = [];
        for (const [k, v] of this.backend.scan({ gte: entryKey(i), lt: entryKey(end) })) run.push(decodeEntry(Number(readU64(k, 2)), v));
        invariant(run.length === end - i, `raft log: entries ${i}..${end - 1} missing on disk`);
      }
      for (const e of run) {
        bytes += entrySize(e);
        // At least one entry, then as many as fit.
        if (out.length > 0 && bytes > maxBytes) return out;
        out.push(e);
      }
      i += run.length;
    }
    return out;
  }

  term(i: number): number {
    if (i === this.base.index) return this.base.term;
    if (i < this.base.index) throw new StorageError('compacted');
    const t = this.terms[i - this.base.index - 1];
    if (t === undefined) throw new StorageError('unavailable');
    return t;
  }

  firstIndex(): number {
    return this.base.index + 1;
  }

  lastIndex(): number {
    return this.base.index + this.terms.length;
  }

  snapshot(): Snapshot {
    return { data: EMPTY_BYTES, metadata: this.base };
  }

  // ---- the driver's write side ----

  get persistedHardState(): HardState {
    return this.hardState;
  }

  /** Operations persisting `hs`. */
  setHardState(hs: HardState): BatchOp[] {
    return [{ type: 'put', key: HARD_STATE_KEY, value: encodeValue({ term: hs.term, vote: hs.vote, commit: hs.commit }) }];
  }

  hardStatePersisted(hs: HardState): void {
    this.hardState = hs;
  }

  /**
   * Operations persisting `entries` (contiguous): an entry at index i replaces the stored
   * entry at i and everything after it. Entries at or below the base are ignored.
   */
  append(entries: readonly Entry[]): BatchOp[] {
    const ents = this.aboveBase(entries);
    const first = ents[0];
    if (first === undefined) return [];
    const diskLast = this.sentLast ?? this.lastIndex();
    invariant(first.index <= diskLast + 1, `raft log: gap appending ${first.index} after ${diskLast}`);
    const ops: BatchOp[] = ents.map((e) => ({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) }));
    const last = first.index + ents.length - 1;
    for (let i = last + 1; i <= diskLast; i++) ops.push({ type: 'del', key: entryKey(i) });
    this.sentLast = last;
    this.appendsInFlight++;
    return ops;
  }

  appendPersisted(entries: readonly Entry[]): void {
    const ents = this.aboveBase(entries);
    const first = ents[0];
    if (first === undefined) return;
    const from = first.index - this.base.index - 1;
    for (let i = first.index; i <= this.lastIndex(); i++) this.uncache(i);
    this.terms.length = from;
    for (let i = from; i < this.sizes.length; i++) this.entryBytes -= this.sizes[i]!;
    this.sizes.length = from;
    if (--this.appendsInFlight === 0) this.sentLast = undefined;
    for (const e of ents) {
      this.terms.push(e.term);
      const bytes = ENTRY_KEY_BYTES + ENTRY_HEADER_BYTES + e.data.length;
      this.sizes.push(bytes);
      this.entryBytes += bytes;
      this.cache.set(e.index, e);
      this.cachedBytes += e.data.length;
    }
    this.trimCache();
  }

  private aboveBase(entries: readonly Entry[]): readonly Entry[] {
    const first = entries[0];
    if (first === undefined || first.index > this.base.index) return entries;
    return entries.slice(this.base.index + 1 - first.index);
  }

  private uncache(i: number): void {
    const e = this.cache.get(i);
    if (e === undefined) return;
    this.cache.delete(i);
    this.cachedBytes -= e.data.length;
  }

  private trimCache(): void {
    if (this.cache.size <= this.maxCachedEntries && this.cachedBytes <= this.maxCachedBytes) return;
    const keep = this.lastIndex() - this.maxCachedEntries;
    for (const i of this.cache.keys()) {
      // The newest entry stays cached whatever its size.
      if (this.cache.size > 1 && (i <= keep || this.cachedBytes > this.maxCachedBytes)) this.uncache(i);
      else break;
    }
  }

  /**
   * The state machine durably reached `meta.index`: it becomes the next base, and the
   * previous next base becomes the base (entries up to it are dropped). So the log always
   * keeps the entries between two snapshot points for lagging followers, and a base's
   * membership is known exactly (it was recorded when the state machine was there).
   * Returns the operations and the new base, if the base moves.
   */
  snapshotAt(meta: SnapshotMetadata): { ops: BatchOp[]; compactTo: SnapshotMetadata | undefined } {
    invariant(meta.index <= this.lastIndex(), `raft log: snapshot at ${meta.index} beyond ${this.lastIndex()}`);
    const ops: BatchOp[] = [{ type: 'put', key: NEXT_KEY, value: encodeMeta(meta) }];
    const compactTo = this.next !== undefined && this.next.index > this.base.index ? this.next : undefined;
    if (compactTo !== undefined) ops.push({ type: 'put', key: BASE_KEY, value: encodeMeta(compactTo) });
    return { ops, compactTo };
  }

  /** The snapshotAt write resolved. Call `clearBelowBase` afterwards (no write in flight). */
  snapshotPersisted(meta: SnapshotMetadata, compactTo: SnapshotMetadata | undefined): void {
    this.next = meta;
    if (compactTo !== undefined) this.rebase(compactTo, false);
  }

  /** Deletes entries at or below the base from disk (they are invisible already). */
  clearBelowBase(): Promise<void> {
    return this.backend.clear({ gte: entryKey(0), lt: entryKey(this.base.index + 1) });
  }

  /**
   * A snapshot from the leader replaces the whole log: operations that make `meta` the base,
   * drop every entry and the pending next base. Entry keys are cleared by `clearBelowBase`
   * after, and the ones above the base are deleted here.
   */
  restore(meta: SnapshotMetadata): BatchOp[] {
    const ops: BatchOp[] = [
      { type: 'put', key: BASE_KEY, value: encodeMeta(meta) },
      { type: 'put', key: NEXT_KEY, value: encodeMeta(meta) },
    ];
    for (let i = Math.max(this.base.index + 1, meta.index + 1); i <= this.lastIndex(); i++) ops.push({ type: 'del', key: entryKey(i) });
    return ops;
  }

  restorePersisted(meta: SnapshotMetadata): void {
    this.next = meta;
    this.rebase(meta, true);
  }

  private rebase(meta: SnapshotMetadata, dropAll: boolean): void {
    const keep = dropAll ? [] : this.terms.slice(meta.index - this.base.index);
    for (const i of this.cache.keys()) if (i <= meta.index || dropAll) this.uncache(i);
    this.terms = keep;
    this.sizes = dropAll ? [] : this.sizes.slice(meta.index - this.base.index);
    this.entryBytes = 0;
    for (const b of this.sizes) this.entryBytes += b;
    this.base = meta;
  }

  /**
   * Bytes the stored entries take (keys and values, as written): the raft log's share of the
   * database, which the quota leaves out (it plays the part of etcd's WAL, which etcd's quota
   * does not count either). Entries cleared below the base are not counted, though RocksDB
   * may hold their bytes until its compactions (or a defrag) drop them.
   */
  get storedBytes(): number {
    return this.entryBytes;
  }

  /** The base (index and membership) raft's log starts after. */
  get baseMetadata(): SnapshotMetadata {
    return this.base;
  }
}

const ENTRY_PREFIX = [TABLE_RAFT, 0x65]; // 'r' 'e'
const ENTRY_END = new Uint8Array([TABLE_RAFT, 0x66]);
const HARD_STATE_KEY = new Uint8Array([TABLE_RAFT, 0x68]); // 'r' 'h'
const BASE_KEY = new Uint8Array([TABLE_RAFT, 0x73]); // 'r' 's'
const NEXT_KEY = new Uint8Array([TABLE_RAFT, 0x70]); // 'r' 'p'

const ENTRY_KEY_BYTES = ENTRY_PREFIX.length + 8;
const ENTRY_HEADER_BYTES = 9;

function entryKey(index: number): Uint8Array {
  return u64Key(ENTRY_PREFIX, BigInt(index));
}

/** An entry on disk: term as float64 (a safe integer) | type (0 normal, 1 confChange) | data. */
function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(9 + e.data.length);
  new DataView(out.buffer).setFloat64(0, e.term);
  out[8] = e.type === 'confChange' ? 1 : 0;
  out.set(e.data, 9);
  return out;
}

function decodeEntry(index: number, bytes: Uint8Array): Entry {
  invariant(bytes.length >= 9, `raft log: entry ${index} is corrupt`);
  const term = new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0);
  const type = bytes[8];
  invariant(Number.isSafeInteger(term) && (type === 0 || type === 1), `raft log: entry ${index} is corrupt`);
  return { index, term, type: type === 1 ? 'confChange' : 'normal', data: bytes.subarray(9) };
}

const toId = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as number));

function decodeHardState(bytes: Uint8Array): HardState {
  const v = decodeValue(bytes) as { term?: unknown; vote?: unknown; commit?: unknown };
  invariant(typeof v.term === 'number' && typeof v.commit === 'number', 'raft log: HardState is corrupt');
  return { term: v.term, vote: toId(v.vote ?? 0), commit: v.commit };
}

export function encodeMeta(m: SnapshotMetadata): Uint8Array {
  return encodeValue({ index: m.index, term: m.term, voters: m.confState.voters, learners: m.confState.learners });
}

export function decodeMeta(bytes: Uint8Array): SnapshotMetadata {
  const v = decodeValue(bytes) as { index?: unknown; term?: unknown; voters?: unknown; learners?: unknown };
  invariant(typeof v.index === 'number' && typeof v.term === 'number', 'raft log: snapshot metadata is corrupt');
  return { index: v.index, term: v.term, confState: decodeConfState(v) };
}

