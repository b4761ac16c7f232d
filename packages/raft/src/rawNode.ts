import { encodeConfChange } from './confChange/confChange.js';
import { ProposalDroppedError } from './errors.js';
import type { Config } from './raft.js';
import { Raft } from './raft.js';
import type { ProgressState } from './tracker/progress.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot, SoftState } from './types.js';
import { isHardStateEqual, isLocalMessage, isResponseMessage, makeMessage } from './types.js';

/**
 * Everything the driver must do after inputs were fed to the node. Handle a Ready in this
 * order, then call `advance()`:
 * 1. Persist `snapshot` (if any), then `entries`, then `hardState` — durably (fsync when
 *    `mustSync`). The entries replace any persisted entries at the same or higher indices.
 * 2. Send `messages` (only now: they may promise what step 1 made durable, e.g. a vote or an
 *    acknowledged entry).
 * 3. Apply `snapshot` to the state machine, then `committedEntries` in order (calling
 *    `applyConfChange` for confChange entries), and serve `readStates` once applied reaches
 *    their index.
 */
export interface Ready {
  /** Set when the leader or role changed. Informational; never persisted. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed. */
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly snapshot?: Snapshot;
  readonly readStates: readonly ReadState[];
  /** Whether step 1 must be synchronous-durable (term/vote changed or entries appended). */
  readonly mustSync: boolean;
}

export interface ProgressStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly hardState: HardState;
  readonly softState: SoftState;
  readonly applied: number;
  readonly lastIndex: number;
  readonly confState: ConfState;
  /** Leader only: replication progress of every member, sorted by id. */
  readonly progress: readonly ProgressStatus[];
  readonly leadTransferee: NodeId;
}

/** Maximum bytes of committed entries handed out per Ready. */
const MAX_COMMITTED_BYTES_PER_READY = 64 << 20;

/**
 * The thread-unsafe, synchronous handle on one Raft node, shaped like etcd's raft.RawNode.
 * Feed it `tick()`s, network messages via `step()`, and requests; drain work with
 * `hasReady()`/`ready()`/`advance()`. No I/O, clocks or randomness of its own.
 */
export class RawNode {
  /** The underlying state machine; exposed for tests and tooling, not part of the stable API. */
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private pending: Ready | undefined;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = config.storage.initialState().hardState;
  }

  /** Advances logical time by one tick (elections, heartbeats, CheckQuorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(makeMessage({ type: 'MsgHup', from: this.raft.id }));
  }

  /**
   * Proposes an entry. Throws ProposalDroppedError when it cannot be accepted (no leader,
   * leadership transfer, ...). Acceptance does not mean commit: the entry may still be lost
   * if leadership changes; the application matches committed entries to its requests.
   */
  propose(data: Uint8Array): void {
    this.raft.step(makeMessage({ type: 'MsgProp', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }));
  }

  /**
   * Proposes a single-server membership change. The leader accepts only one uncommitted
   * change at a time, and only after committing an entry of its term (else
   * ProposalDroppedError('confChangePending')). The change takes effect inside raft as soon
   * as the entry is in the log; the application calls `applyConfChange` when it applies it.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(
      makeMessage({ type: 'MsgProp', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) }] }),
    );
  }

  /** Feeds a message received from a peer. Local-only message types and responses from non-members are ignored. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) return;
    if (isResponseMessage(m.type) && !this.raft.prs.isMember(m.from)) return;
    try {
      this.raft.step(m);
    } catch (e) {
      // A forwarded proposal the leader cannot take is simply lost, like any message.
      if (e instanceof ProposalDroppedError) return;
      throw e;
    }
  }

  /**
   * Requests a linearizable read. A ReadState with the same `context` appears in a later
   * Ready (or never, if leadership changes: retry with a new context after a timeout).
   * Contexts must be unique among outstanding requests.
   */
  readIndex(context: Uint8Array): void {
    this.raft.step(makeMessage({ type: 'MsgReadIndex', from: this.raft.id, context }));
  }

  /** Asks the leader to hand leadership to `to` (forwarded if this node is a follower). */
  transferLeadership(to: NodeId): void {
    this.raft.step(makeMessage({ type: 'MsgTransferLeader', from: to }));
  }

  /** Tells the leader that the last message to `id` could not be delivered. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(makeMessage({ type: 'MsgUnreachable', from: id }));
  }

  /** Tells the leader whether a snapshot sent to `id` was delivered. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(makeMessage({ type: 'MsgSnapStatus', from: id, reject: !ok }));
  }

  /**
   * Must be called for every confChange entry when it is applied, in log order. Returns the
   * membership as of that entry, to be stored with snapshots taken at or after it.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  hasReady(): boolean {
    const r = this.raft;
    r.flushAppends();
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) return true;
    if (!isHardStateEqual(r.hardState(), this.prevHard)) return true;
    if (r.log.unstable.snapshot !== null) return true;
    if (r.msgs.length > 0 || r.log.unstable.entries.length > 0 || r.log.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /** Collects pending work. Call `advance()` once it has been handled (see Ready). */
  ready(): Ready {
    const r = this.raft;
    r.flushAppends();
    const ss = r.softState();
    const hs = r.hardState();
    const snap = r.log.unstable.snapshot;
    const entries = r.log.unstableEntries();
    const rd: {
      -readonly [K in keyof Ready]: Ready[K];
    } = {
      entries,
      committedEntries: r.log.nextCommittedEnts(MAX_COMMITTED_BYTES_PER_READY),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote,
    };
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    if (!isHardStateEqual(hs, this.prevHard)) rd.hardState = hs;
    if (snap !== null) rd.snapshot = snap;
    r.msgs = [];
    r.readStates = [];
    this.pending = rd;
    return rd;
  }

  /** Acknowledges that the last Ready was handled: its entries and snapshot are durable and its committed entries applied. */
  advance(): void {
    const rd = this.pending;
    if (rd === undefined) throw new Error('raft: advance without ready');
    this.pending = undefined;
    const log = this.raft.log;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > log.applied) log.applied = rd.snapshot.metadata.index;
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) log.stableTo(last.index, last.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) log.appliedTo(lastApplied.index);
  }

  status(): Status {
    const r = this.raft;
    const progress: ProgressStatus[] = [];
    if (r.state === 'leader') {
      for (const id of r.prs.ids) {
        const p = r.prs.progress.get(id)!;
        progress.push({ id, match: p.match, next: p.next, state: p.state, isLearner: p.isLearner, recentActive: p.recentActive });
      }
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      confState: r.prs.confState(),
      progress,
      leadTransferee: r.leadTransferee,
    };
  }
}
