import {
  CairnError,
  ErrorCode,
  decodeValue,
  encodeValue,
  type KeyValue,
  type LeaseId,
  type RangeRequest,
  type WatchEvent,
} from '@cairn/protocol';
import type { Backend, BatchOp } from '../storage/backend.js';
import { HISTORY_END, HISTORY_START, historyKey, metaKey, MetaKey, parseHistoryKey, TABLE_HISTORY } from '../storage/keyspace.js';
import { keyString, KeyTree } from './keyTree.js';
import { decodeRecord, type HistoryRecord } from './kvRecord.js';
import type { HashView } from './hash.js';
import { range, type RangeResult } from './range.js';
import { invariant, type Rev } from './revision.js';
import { WriteTxn, type StoreEvent } from './writeTxn.js';

export type { StoreEvent } from './writeTxn.js';

/** All events of one revision, in the order the changes were made. */
export interface RevisionEvents {
  readonly revision: bigint;
  readonly events: readonly StoreEvent[];
}

/** Called when revisions become visible (committed and applied), oldest first. Must not throw. */
export type ChangeListener = (revisions: readonly RevisionEvents[]) => void;

/** A batch taken from the store for the backend; see `drain` and `release`. */
export interface DrainedBatch {
  readonly ops: BatchOp[];
  /** The store's revision when drained: every pending record at or below it is in `ops`. */
  readonly revision: number;
}

export interface StoreOptions {
  /** The lessor's existence check for `put` with a lease. Absent: every lease is accepted. */
  readonly leaseExists?: (id: LeaseId) => boolean;
}

/**
 * The MVCC key-value store: an in-memory index (key -> revisions) over history records in the
 * backend keyed by revision. Writes happen in write transactions (`write`), each one revision.
 *
 * Writes are collected, not written: `drain` hands the collected batch operations to the
 * caller (the applier adds its meta and writes them), and `release` tells the store the batch
 * is on disk. Until then the records stay in `pending`, so reads and `history` see them.
 * Listeners hear of revisions on `reveal`, which the member calls once the entries that made
 * them are committed (durable on a quorum's logs): from then on nothing can take them back,
 * whether or not this store's own write has landed yet (a restart replays the log).
 *
 * Ownership: only the applier calls `write`, `compact`, `reveal`, `drain` and `release`.
 */
export class MvccStore {
  readonly tree = new KeyTree();
  private rev = 0;
  private compactRev = 0;
  /** main -> records by sub, for revisions not yet written to the backend. */
  private readonly pending = new Map<number, HistoryRecord[]>();
  /** Every record at or below this revision is in the backend (the last released batch). */
  private writtenRev = 0;
  readonly ops: BatchOp[] = [];
  private events: RevisionEvents[] = [];
  private revAtLastDrain = 0;
  private readonly listeners: ChangeListener[] = [];
  readonly leaseExists: ((id: LeaseId) => boolean) | undefined;
  /** The events of the last `write` (empty if it changed nothing); the applier reads them. */
  lastEvents: readonly StoreEvent[] = [];
  /**
   * Bytes (keys and values) and count of the history records in the backend or about to be:
   * exact for what is written; a compaction takes off the average record size per record it
   * drops (their sizes are not kept), so after one the bytes are an estimate.
   */
  private recordBytes = 0;
  private records = 0;

  private constructor(
    private readonly backend: Backend,
    options: StoreOptions,
  ) {
    this.leaseExists = options.leaseExists;
  }

  /** Rebuilds the index from the backend's history and meta. */
  static load(backend: Backend, options: StoreOptions = {}): MvccStore {
    const s = new MvccStore(backend, options);
    s.rev = readMetaNumber(backend, MetaKey.Revision);
    s.compactRev = readMetaNumber(backend, MetaKey.CompactRevision);
    let last = 0;
    s.tree.beginBulkLoad();
    for (const [k, v] of backend.scan({ gte: HISTORY_START, lt: HISTORY_END })) {
      const rev = parseHistoryKey(k);
      const { kv, tombstone } = decodeRecord(v);
      s.recordBytes += k.length + v.length;
      s.records++;
      const ki = s.tree.getOrCreate(keyString(kv.key), kv.key);
      if (tombstone) ki.tombstone(rev);
      else {
        ki.put(rev, Number(kv.createRevision), Number(kv.version));
        ki.lease = kv.lease;
      }
      last = rev.main;
    }
    s.tree.endBulkLoad();
    invariant(last <= s.rev || s.rev === 0, 'history beyond the stored revision');
    // Like etcd, an empty store is at revision 1, so the first write makes revision 2.
    s.rev = Math.max(s.rev, last, 1);
    s.revAtLastDrain = s.rev;
    s.writtenRev = s.rev;
    return s;
  }

  /** The newest revision, including changes not yet durable. */
  get currentRevision(): number {
    return this.rev;
  }

  get compactRevision(): number {
    return this.compactRev;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** A range at the newest revision (or at `req.revision`). */
  range(req: RangeRequest): RangeResult {
    return range(this, req, this.rev, this.compactRev);
  }

  /**
   * Runs `body` as one write transaction. If it throws, every change is undone and the error
   * propagates; otherwise its changes (if any) become revision current + 1.
   */
  write<T>(body: (txn: WriteTxn) => T): T {
    const txn = new WriteTxn(this);
    let out: T;
    try {
      out = body(txn);
    } catch (err) {
      txn.rollback();
      this.pending.delete(txn.main);
      this.lastEvents = [];
      throw err;
    }
    this.lastEvents = txn.changes > 0 ? txn.events : [];
    if (txn.changes > 0) {
      this.rev = txn.main;
      this.events.push({ revision: BigInt(txn.main), events: txn.events });
    } else {
      this.pending.delete(txn.main);
    }
    return out;
  }

  /**
   * Drops history before `at` (keeping each key's latest version at or before it) and deletes
   * the dropped records from the backend in the next batch.
   */
  compact(at: number): void {
    if (at <= this.compactRev) {
      throw new CairnError(ErrorCode.Compacted, undefined, { compactRevision: BigInt(this.compactRev) });
    }
    if (at > this.rev) throw new CairnError(ErrorCode.FutureRevision);
    const dropped: Rev[] = [];
    const empty = new Set<string>();
    for (const k of this.tree.keys()) {
      if (this.tree.get(k)!.compact(at, dropped)) empty.add(k);
    }
    this.tree.deleteMany(empty);
    for (const r of dropped) this.ops.push({ type: 'del', key: historyKey(r.main, r.sub) });
    if (this.records > 0) {
      const dropping = Math.min(dropped.length, this.records);
      this.recordBytes -= Math.round((this.recordBytes / this.records) * dropping);
      this.records -= dropping;
    }
    this.compactRev = at;
    this.ops.push({ type: 'put', key: metaKey(MetaKey.CompactRevision), value: encodeValue(at) });
  }

  /**
   * The events of revisions [from, to] from the history, grouped by revision, each with its
   * prevKv when that is still in the history. For a watcher catching up: `from` below the
   * compaction point fails with `compacted`. Records not yet written come from `pending`.
   */
  history(from: number, to: number): RevisionEvents[] {
    if (from < this.compactRev) {
      throw new CairnError(ErrorCode.Compacted, undefined, { compactRevision: BigInt(this.compactRev) });
    }
    const out: RevisionEvents[] = [];
    if (to < from) return out;
    const records: { rev: Rev; rec: HistoryRecord; prev: Rev | undefined }[] = [];
    // The backend holds every record up to writtenRev; `pending` every one after it (a record
    // may be in both while its write lands, so each source covers its own part only).
    const onDisk = Math.min(to, this.writtenRev);
    if (onDisk >= from) {
      for (const [k, v] of this.backend.scan({ gte: historyKey(Math.max(from, 1), 0), lt: historyKey(onDisk + 1, 0) })) {
        const rev = parseHistoryKey(k);
        const rec = decodeRecord(v);
        records.push({ rev, rec, prev: this.tree.get(keyString(rec.kv.key))?.previous(rev) });
      }
    }
    for (let main = Math.max(from, onDisk + 1); main <= to; main++) {
      const recs = this.pending.get(main);
      if (recs === undefined) continue;
      for (let sub = 0; sub < recs.length; sub++) {
        const rev = { main, sub };
        const rec = recs[sub]!;
        records.push({ rev, rec, prev: this.tree.get(keyString(rec.kv.key))?.previous(rev) });
      }
    }
    const withPrev = records.filter((r) => r.prev !== undefined);
    const prevs = this.readKvs(withPrev.map((r) => r.prev!));
    const prevOf = new Map(withPrev.map((r, i) => [r.rec, prevs[i]!]));
    let current: { revision: bigint; events: WatchEvent[] } | undefined;
    for (const { rev, rec } of records) {
      if (current === undefined || current.revision !== BigInt(rev.main)) {
        current = { revision: BigInt(rev.main), events: [] };
        out.push(current);
      }
      const prevKv = prevOf.get(rec);
      const type = rec.tombstone ? 'delete' : 'put';
      current.events.push(prevKv === undefined ? { type, kv: rec.kv } : { type, kv: rec.kv, prevKv });
    }
    return out;
  }

  /**
   * What `maintenance.hashKv` hashes (see hash.ts), captured now: a point-in-time reader of the
   * history up to `revision` and the records at or below the compaction point that survive it.
   * The backend alone is read, so the caller makes sure `revision` is written. Like etcd:
   * `compacted` below the compaction point, `future_revision` past the newest revision.
   */
  hashView(revision: number): HashView {
    if (revision < this.compactRev) {
      throw new CairnError(ErrorCode.Compacted, undefined, { compactRevision: BigInt(this.compactRev) });
    }
    if (revision > this.rev) throw new CairnError(ErrorCode.FutureRevision);
    const keep = new Set<string>();
    const at = this.compactRev;
    if (at > 0) {
      for (const k of this.tree.keys()) {
        for (const g of this.tree.get(k)!.generations) {
          for (const r of g.revs) {
            if (r.main > at) break;
            keep.add(`${r.main}.${r.sub}`);
          }
        }
      }
    }
    const reader = this.backend.reader({ gte: HISTORY_START, lt: historyKey(revision + 1, 0) });
    return { reader, keep, compactRevision: at, hashRevision: revision };
  }

  /** The revisions written since the last reveal are committed: tell the listeners. */
  reveal(): void {
    if (this.events.length === 0) return;
    const events = this.events;
    this.events = [];
    for (const l of this.listeners) l(events);
  }

  /** Takes the collected batch operations; call `release` once they are written. */
  drain(): DrainedBatch {
    if (this.rev !== this.revAtLastDrain) {
      this.ops.push({ type: 'put', key: metaKey(MetaKey.Revision), value: encodeValue(this.rev) });
      this.revAtLastDrain = this.rev;
    }
    const ops = this.ops.splice(0);
    for (const op of ops) {
      if (op.type === 'put' && op.key[0] === TABLE_HISTORY) {
        this.recordBytes += op.key.length + op.value.length;
        this.records++;
      }
    }
    return { ops, revision: this.rev };
  }

  /** Bytes the history records take, keys and values (see `recordBytes`). */
  get historyBytes(): number {
    return Math.max(0, this.recordBytes);
  }

  /** The drained batch is written: forget its pending records (the backend has them now). */
  release(batch: DrainedBatch): void {
    for (const main of this.pending.keys()) {
      if (main <= batch.revision) this.pending.delete(main);
    }
    if (batch.revision > this.writtenRev) this.writtenRev = batch.revision;
  }

  /** Every record at or below this revision is in the backend. */
  get writtenRevision(): number {
    return this.writtenRev;
  }

  pendingAt(main: number): HistoryRecord[] {
    let p = this.pending.get(main);
    if (p === undefined) {
      p = [];
      this.pending.set(main, p);
    }
    return p;
  }

  readKvs(revs: readonly Rev[]): KeyValue[] {
    const out = new Array<KeyValue>(revs.length);
    let missing: number[] | undefined;
    for (let i = 0; i < revs.length; i++) {
      const r = revs[i]!;
      const rec = this.pending.get(r.main)?.[r.sub];
      if (rec !== undefined) out[i] = rec.kv;
      else (missing ??= []).push(i);
    }
    if (missing !== undefined) {
      const got = this.backend.getMany(missing.map((i) => historyKey(revs[i]!.main, revs[i]!.sub)));
      for (let j = 0; j < missing.length; j++) {
        const bytes = got[j];
        invariant(bytes !== undefined, `history record ${revs[missing[j]!]!.main}.${revs[missing[j]!]!.sub} is missing`);
        const rec = decodeRecord(bytes);
        invariant(!rec.tombstone, 'a read reached a tombstone');
        out[missing[j]!] = rec.kv;
      }
    }
    return out;
  }
}

/** A meta number, 0 if absent. */
export function readMetaNumber(backend: Backend, name: MetaKey): number {
  const raw = backend.get(metaKey(name));
  if (raw === undefined) return 0;
  const v = decodeValue(raw);
  invariant(typeof v === 'number' || typeof v === 'bigint', `meta ${name} is not a number`);
  return Number(v);
}
