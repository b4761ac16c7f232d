import { CairnError, decodeValue, encodeValue, ErrorCode, type ResponseHeader } from '@cairn/protocol';
import type { Backend } from '../storage/backend.js';
import { metaKey, MetaKey } from '../storage/keyspace.js';
import { MvccStore, readMetaNumber, type DrainedBatch, type StoreEvent, type StoreOptions } from '../mvcc/store.js';
import { invariant } from '../mvcc/revision.js';
import { addsData, applyKind, changesData, checkWriteRequest, type ApplyContext } from './kinds.js';
import { AuthStore } from '../auth/store.js';
import { AlarmStore } from './alarms.js';
import { decodeTrustedWriteRequest, type ProposalAuth, type WriteRequest, type WriteResponse } from './requests.js';
import { recheckAtApply } from './authCheck.js';
import { Lessor } from '../lease/lessor.js';
import { keyString } from '../mvcc/keyTree.js';
import type { ConfChange, ConfState } from '@cairn/raft';
import { Membership, decodeConfState, encodeConfState, type MemberRecord } from './membership.js';


/** Builds a response header for a store revision (cluster and member ids, term). */
export type HeaderFactory = (revision: number) => ResponseHeader;

/** What applying one entry gave: a response, or the typed error the request failed with. */
export type ApplyOutcome = { readonly ok: true; readonly response: WriteResponse } | { readonly ok: false; readonly error: CairnError };

/** A state-machine batch: the store's writes plus the applied index, to be written atomically. */
export interface AppliedBatch {
  readonly store: DrainedBatch;
  /** The last index applied when the batch was taken. */
  readonly appliedIndex: bigint;
}

/**
 * The only writer of state-machine data. Deterministic: the same entries, in the same order,
 * from the same state, give the same state and the same outcomes on every member — no clock,
 * no randomness, no configuration. An expected failure (compacted, key not found ...) is an
 * outcome and still consumes its index; anything else thrown is a broken invariant and must
 * stop the member.
 *
 * Durability protocol: `apply` committed entries and `reveal` them (listeners hear of them);
 * then, now or later, `drain` a batch, write it (applied index included, so data and index
 * land together), and `release` it.
 */
export class Applier {
  private applied: bigint;
  private drainedIndex: bigint;
  private term: number;
  private conf: ConfState;
  private confChanged = false;
  /** What the request kinds apply to. */
  private readonly context: ApplyContext;

  private constructor(
    readonly store: MvccStore,
    readonly auth: AuthStore,
    readonly alarms: AlarmStore,
    readonly lessor: Lessor,
    readonly membership: Membership,
    private readonly header: HeaderFactory,
    appliedIndex: bigint,
    appliedTerm: number,
    confState: ConfState,
    /** TEST ONLY, a planted bug (MemberOptions.plantedBugs): no auth re-check at apply. */
    private readonly skipAuthRecheck: boolean,
  ) {
    this.applied = appliedIndex;
    this.drainedIndex = appliedIndex;
    this.term = appliedTerm;
    this.conf = confState;
    this.context = {
      store,
      lessor,
      auth,
      alarms,
      membership,
      header: () => this.header(this.store.currentRevision),
      trackLeases: (events) => this.trackLeases(events),
    };
  }

  static load(backend: Backend, header: HeaderFactory, options: StoreOptions = {}, skipAuthRecheck = false): Applier {
    const lessor = Lessor.load(backend);
    const store = MvccStore.load(backend, { leaseExists: (id) => lessor.exists(id), ...options });
    // Key attachments are not stored apart: each live key's record names its lease, and the
    // key index keeps it.
    for (const ks of store.tree.keys()) {
      const ki = store.tree.get(ks)!;
      if (ki.live && ki.lease !== 0n) lessor.attach(ki.lease, ks, ki.key);
    }
    const index = BigInt(readMetaNumber(backend, MetaKey.AppliedIndex));
    const term = readMetaNumber(backend, MetaKey.AppliedTerm);
    const rawConf = backend.get(metaKey(MetaKey.ConfState));
    const conf = rawConf === undefined ? { voters: [], learners: [] } : decodeConfState(decodeValue(rawConf) as { voters?: unknown; learners?: unknown });
    const membership = Membership.load(backend);
    return new Applier(store, AuthStore.load(backend), AlarmStore.load(backend), lessor, membership, header, index, term, conf, skipAuthRecheck);
  }

  /** Index of the last entry applied (durable or not). */
  get appliedIndex(): bigint {
    return this.applied;
  }

  /** Term of the entry at appliedIndex. */
  get appliedTerm(): number {
    return this.term;
  }

  /** Raft membership as of appliedIndex. */
  get confState(): ConfState {
    return this.conf;
  }

  /** Whether something was applied since the last drain. */
  get dirty(): boolean {
    return this.applied !== this.drainedIndex;
  }

  private advance(index: bigint, term: number): void {
    invariant(index === this.applied + 1n, `apply out of order: ${index} after ${this.applied}`);
    this.applied = index;
    if (term > 0) this.term = term;
  }

  /** An entry without a request (a new leader's no-op): only the index moves. */
  applyEmpty(index: bigint, term: number): void {
    this.advance(index, term);
  }

  /**
   * A membership change: `confState` is what raft answered for it (RawNode.applyConfChange),
   * `member` the record the proposer attached (undefined for a removal).
   */
  applyConfChange(index: bigint, term: number, cc: ConfChange, member: MemberRecord | undefined, confState: ConfState): ApplyOutcome {
    this.advance(index, term);
    this.conf = confState;
    this.confChanged = true;
    if (cc.type === 'removeNode') this.membership.remove(cc.nodeId);
    else if (member !== undefined && member.id === cc.nodeId && !this.membership.isRemoved(cc.nodeId)) this.membership.add(member);
    return { ok: true, response: { members: { header: this.header(this.store.currentRevision), members: this.membership.list() } } };
  }

  /**
   * Applies the entry at `index`, which must be the next one. `stamp`: who the request was
   * authorized for, and at which auth revision (absent for the member's own requests).
   */
  apply(index: bigint, data: Uint8Array, term = 0, stamp?: ProposalAuth): ApplyOutcome {
    return this.applyRequest(index, decodeTrustedWriteRequest(data), term, stamp);
  }

  /** `apply` of a request already decoded from its entry (requests.ts, takeCheckedEntry). */
  applyRequest(index: bigint, req: WriteRequest, term = 0, stamp?: ProposalAuth): ApplyOutcome {
    this.advance(index, term);
    try {
      return { ok: true, response: this.run(req, stamp) };
    } catch (err) {
      if (err instanceof CairnError) return { ok: false, error: err };
      throw err;
    }
  }

  /**
   * The layers around the base applier (kinds.ts), as etcd wraps its applier: the request's
   * own shape, then auth (re-checked if the auth store moved since the API checked it), then
   * the alarms, then the kind's own apply.
   */
  private run(req: WriteRequest, stamp: ProposalAuth | undefined): WriteResponse {
    checkWriteRequest(req);
    if (!this.skipAuthRecheck) recheckAtApply(this.auth, this.lessor, stamp, req);
    // Capped like etcd's applier while NOSPACE is raised: what adds data fails, deletes and
    // compaction still work so that an operator can make room.
    if (this.alarms.has('nospace') && addsData(req)) throw new CairnError(ErrorCode.NoSpace);
    // CORRUPT (a member's data diverged): like etcd, the cluster takes no more data changes until
    // an operator has replaced that member and disarmed the alarm.
    if (this.alarms.has('corrupt') && changesData(req)) throw new CairnError(ErrorCode.Corrupt);
    return applyKind(this.context, req, stamp);
  }


  /** Keeps the lessor's key lists in step with the keys' lease fields. */
  private trackLeases(events: readonly StoreEvent[]): void {
    for (const e of events) {
      const ks = keyString(e.kv.key);
      if (e.prevLease !== undefined && e.prevLease !== 0n) this.lessor.detach(e.prevLease, ks);
      if (e.type === 'put' && e.kv.lease !== 0n) this.lessor.attach(e.kv.lease, ks, e.kv.key);
    }
  }

  /** Takes everything applied since the last drain, with the applied index, as one batch. */
  drain(): AppliedBatch {
    const store = this.store.drain();
    // Same batch as the MVCC records and the applied index: one atomic write.
    store.ops.push(...this.auth.drain(), ...this.alarms.drain(), ...this.membership.drain());
    if (this.applied !== this.drainedIndex) {
      store.ops.push({ type: 'put', key: metaKey(MetaKey.AppliedIndex), value: encodeValue(this.applied) });
      store.ops.push({ type: 'put', key: metaKey(MetaKey.AppliedTerm), value: encodeValue(this.term) });
      this.drainedIndex = this.applied;
    }
    if (this.confChanged) {
      store.ops.push({ type: 'put', key: metaKey(MetaKey.ConfState), value: encodeConfState(this.conf) });
      this.confChanged = false;
    }
    return { store, appliedIndex: this.applied };
  }

  /** Everything applied so far is committed: the store's listeners hear of it. */
  reveal(): void {
    this.store.reveal();
  }

  /** The batch is written. */
  release(batch: AppliedBatch): void {
    this.store.release(batch.store);
  }
}
