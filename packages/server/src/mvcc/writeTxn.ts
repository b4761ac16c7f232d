import {
  CairnError,
  ErrorCode,
  type DeleteRangeRequest,
  type KeyValue,
  type LeaseId,
  type PutRequest,
  type RangeRequest,
  type WatchEvent,
} from '@cairn/protocol';
import type { BatchOp } from '../storage/backend.js';
import { historyKey, MAX_SUB_REVISION } from '../storage/keyspace.js';
import type { KeyIndex } from './keyIndex.js';
import { keyString, type KeyTree } from './keyTree.js';
import { encodeRecord, type HistoryRecord } from './kvRecord.js';
import { forEachKey, keyBounds, range, type RangeResult } from './range.js';
import { invariant, type Rev } from './revision.js';

/** What a write transaction needs from the store it runs in. */
export interface WriteTarget {
  readonly tree: KeyTree;
  readonly currentRevision: number;
  readonly compactRevision: number;
  readKvs(revs: readonly Rev[]): KeyValue[];
  /** Records written at `main` (by sub) but not yet durable; the txn appends to it. */
  pendingAt(main: number): HistoryRecord[];
  /** The batch being collected for the backend. */
  readonly ops: BatchOp[];
  /** Hook for the lessor: whether a lease exists. Absent: every lease is accepted. */
  readonly leaseExists: ((id: LeaseId) => boolean) | undefined;
}

/**
 * A change as the store made it. A change that replaced a value names where that value is
 * (`prevRev`) and its lease (`prevLease`, for the lessor's key lists); `prevKv` is there too
 * only when the change read the value anyway (a request asked for it; `history` always reads
 * it). A watcher that wants the value reads it by `prevRev`: the store's `readKvs` still finds
 * it while the revision's listeners run, since a compaction removes records only with the
 * batch written after them.
 */
export interface StoreEvent extends WatchEvent {
  readonly prevRev?: Rev;
  readonly prevLease?: LeaseId;
}

/** The event of a change; `prevRev` undefined: the key had no value before it. */
function changeEvent(type: WatchEvent['type'], kv: KeyValue, prevRev: Rev | undefined, prevLease: LeaseId, prevKv: KeyValue | undefined): StoreEvent {
  if (prevRev === undefined) return { type, kv };
  return prevKv === undefined ? { type, kv, prevRev, prevLease } : { type, kv, prevKv, prevRev, prevLease };
}

export interface PutResult {
  readonly prevKv?: KeyValue;
}
export interface DeleteResult {
  readonly deleted: number;
  readonly prevKvs?: KeyValue[];
}

const EMPTY = new Uint8Array(0);

/**
 * One write transaction: every change in it gets main revision `main` = current + 1 and the
 * next sub revision. Reads inside see the transaction's earlier writes. Nothing is visible
 * to the store's readers until the store commits it; `rollback` undoes the index changes.
 */
export class WriteTxn {
  readonly main: number;
  private sub = 0;
  private readonly undo: (() => void)[] = [];
  readonly events: StoreEvent[] = [];
  private readonly opsAtStart: number;

  constructor(private readonly t: WriteTarget) {
    this.main = t.currentRevision + 1;
    this.opsAtStart = t.ops.length;
  }

  /** Number of changes made so far. */
  get changes(): number {
    return this.sub;
  }

  /** The revision a read inside this txn sees: the txn's own if it wrote, else the store's. */
  get readRevision(): number {
    return this.sub > 0 ? this.main : this.main - 1;
  }

  range(req: RangeRequest): RangeResult {
    return range(this.t, req, this.readRevision, this.t.compactRevision);
  }

  /**
   * The keys of [key, rangeEnd) that exist at this txn's read revision, in key order, each
   * with the revision of its visible value; `visit` returning false stops. Nothing is read
   * from the backend.
   */
  forEachVisible(key: Uint8Array, rangeEnd: Uint8Array | undefined, visit: (ki: KeyIndex, rev: Rev) => boolean | void): void {
    const at = this.readRevision;
    forEachKey(this.t.tree, keyBounds(key, rangeEnd), (ki) => {
      const r = ki.get(at);
      if (r === undefined) return true;
      return visit(ki, r);
    });
  }

  /** The KeyValues stored at these revisions (see WriteTarget.readKvs). */
  readKvs(revs: readonly Rev[]): KeyValue[] {
    return this.t.readKvs(revs);
  }

  put(req: PutRequest): PutResult {
    const ks = keyString(req.key);
    const existing = this.t.tree.get(ks);
    const replaces = existing !== undefined && existing.live;
    const ignoreValue = req.ignoreValue === true;
    const ignoreLease = req.ignoreLease === true;
    if ((ignoreValue || ignoreLease) && !replaces) throw new CairnError(ErrorCode.KeyNotFound);
    // The value this put replaces is read only when the request needs it: most puts do not,
    // and a watcher that wants it reads it by `prevRev` (see StoreEvent).
    const prev = replaces && (req.prevKv === true || ignoreValue) ? this.t.readKvs([existing.modified])[0] : undefined;
    const value = ignoreValue ? prev!.value : (req.value ?? EMPTY);
    const lease = ignoreLease ? existing!.lease : (req.lease ?? 0n);
    if (lease !== 0n && this.t.leaseExists !== undefined && !this.t.leaseExists(lease)) {
      throw new CairnError(ErrorCode.LeaseNotFound);
    }

    const rev = this.nextRev();
    const ki = existing ?? this.t.tree.getOrCreate(ks, req.key);
    const prevModified = ki.modified;
    const prevLease = ki.lease;
    const gen = ki.currentGeneration;
    const live = gen.revs.length > 0;
    const kv: KeyValue = {
      key: ki.key,
      createRevision: BigInt(live ? gen.created : this.main),
      modRevision: BigInt(this.main),
      version: BigInt(live ? gen.ver + 1 : 1),
      value: ignoreValue ? value : value.slice(),
      lease,
    };
    ki.put(rev);
    ki.lease = lease;
    this.undo.push(() => {
      ki.undoPut(prevModified, prevLease);
      if (existing === undefined) this.t.tree.delete(ks);
    });
    this.record(rev, { kv, tombstone: false });
    this.events.push(changeEvent('put', kv, replaces ? prevModified : undefined, prevLease, prev));
    return req.prevKv === true && prev !== undefined ? { prevKv: prev } : {};
  }

  deleteRange(req: DeleteRangeRequest): DeleteResult {
    const live: KeyIndex[] = [];
    forEachKey(this.t.tree, keyBounds(req.key, req.rangeEnd), (ki) => {
      if (ki.live) live.push(ki);
    });
    if (live.length === 0) return req.prevKv === true ? { deleted: 0, prevKvs: [] } : { deleted: 0 };
    // As in `put`: the deleted values are read only for a request that asks for them.
    const prevs = req.prevKv === true ? this.t.readKvs(live.map((ki) => ki.modified)) : undefined;
    for (let i = 0; i < live.length; i++) {
      const ki = live[i]!;
      const rev = this.nextRev();
      const prevModified = ki.modified;
      const prevLease = ki.lease;
      ki.tombstone(rev);
      this.undo.push(() => ki.undoTombstone(prevModified, prevLease));
      const kv: KeyValue = {
        key: ki.key,
        createRevision: 0n,
        modRevision: BigInt(this.main),
        version: 0n,
        value: EMPTY,
        lease: 0n,
      };
      this.record(rev, { kv, tombstone: true });
      this.events.push(changeEvent('delete', kv, prevModified, prevLease, prevs?.[i]));
    }
    return prevs !== undefined ? { deleted: live.length, prevKvs: prevs } : { deleted: live.length };
  }

  private nextRev(): Rev {
    invariant(this.sub <= MAX_SUB_REVISION, 'too many changes in one revision');
    return { main: this.main, sub: this.sub++ };
  }

  private record(rev: Rev, rec: HistoryRecord): void {
    const pending = this.t.pendingAt(rev.main);
    invariant(pending.length === rev.sub, 'pending records out of order');
    pending.push(rec);
    this.t.ops.push({ type: 'put', key: historyKey(rev.main, rev.sub), value: encodeRecord(rec.kv, rec.tombstone) });
  }

  /** Undoes every change: the index, the pending records and the collected batch operations. */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
    this.undo.length = 0;
    this.t.pendingAt(this.main).length = 0;
    this.t.ops.length = this.opsAtStart;
    this.events.length = 0;
    this.sub = 0;
  }
}
