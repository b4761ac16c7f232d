import { encodeConfChange } from './confChange/confChange.js';
import { ProposalDroppedError } from './errors.js';
import type { Config } from './raft.js';
import { Raft } from './raft.js';
import type { ProgressState } from './tracker/progress.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot, SoftState } from './types.js';
import { isHardStateEqual, isLocalMessage, isResponseMessage, makeMessage } from './types.js';

/**
 * Everything the driver must do after inputs were fed to the node. The contract, in order:
 *
 * 1. `messages` may be sent at once: before, or while, the Ready's state is persisted. They
 *    promise nothing about this node's disk (the leader's MsgApp and heartbeats, forwarded
 *    proposals and reads, pre-vote requests, MsgTimeoutNow, MsgSnap). Raft puts nothing here
 *    when the Ready changes term or vote: then every message is in `messagesAfterPersist`.
 * 2. Persist `snapshot` (if any), then `entries`, then `hardState` — durably (fsync when
 *    `mustSync`). The entries replace any persisted entries at the same or higher indices.
 *    After a crash in the middle, whatever of them is not on disk is simply lost: that is
 *    safe, because nothing that depends on it left the node.
 * 3. Only once step 2 is durable: send `messagesAfterPersist` (votes, pre-votes and append
 *    responses: each promises a term, a vote or entries that step 2 wrote), and make the
 *    effects of `committedEntries` visible (answers to clients).
 * 4. Apply `snapshot` to the state machine, then `committedEntries` in order (calling
 *    `applyConfChange` for confChange entries), and serve `readStates` once applied reaches
 *    their index. Committed entries may include entries of this same Ready on a follower
 *    (the leader's commit covers them): their effects must not become durable or visible
 *    before those entries are (the server writes entries and effects in one atomic batch).
 * 5. Call `advance()`: it tells raft that step 2 is durable. Only then does a leader count
 *    its own new entries toward the commit quorum (thesis §10.2.1), so a commit never rests
 *    on entries that a crash of the leader could still lose.
 *
 * Inputs (`step`, `tick`, `propose`, ...) may be fed between `ready()` and `advance()`, and
 * `takeMessages()` / `takeReadStates()` hand out at once what they produced that needs no
 * persist; the next `ready()` must wait for `advance()`.
 */
export interface Ready {
  /** Set when the leader or role changed. Informational; never persisted. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed. */
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  /** May be sent before the Ready is persisted (step 1). */
  readonly messages: readonly Message[];
  /** Must not be sent before the Ready is persisted (step 3). */
  readonly messagesAfterPersist: readonly Message[];
  readonly snapshot?: Snapshot;
  readonly readStates: readonly ReadState[];
  /** Whether step 2 must be synchronous-durable (term/vote changed or entries appended). */
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
    if (r.msgs.length > 0 || r.msgsAfterPersist.length > 0 || r.log.unstable.entries.length > 0 || r.log.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Messages that may leave now, outside a Ready: typically while the last Ready's write is
   * still in flight (between `ready()` and `advance()`), so that a leader's heartbeats, and its
   * appends of entries proposed since that Ready, are not held behind its fsync. They are of
   * the kind of `Ready.messages` (never a vote or an acknowledgement, which wait for the next
   * Ready), and there are none while term or vote differ from the last HardState the driver
   * persisted. Entries sent this way reach the disk of this node in a later Ready; until then
   * the leader does not count them for itself. With `appends` false, MsgApp and MsgSnap stay
   * for the next Ready (so that appends keep batching per Ready) and only the rest leaves.
   */
  takeMessages(appends = true): Message[] {
    const r = this.raft;
    if (r.term !== this.prevHard.term || r.vote !== this.prevHard.vote) return [];
    if (!appends) {
      const out = r.msgs.filter((m) => m.type !== 'MsgApp' && m.type !== 'MsgSnap');
      if (out.length > 0) r.msgs = r.msgs.filter((m) => m.type === 'MsgApp' || m.type === 'MsgSnap');
      return out;
    }
    r.flushAppends();
    const out = r.msgs;
    r.msgs = [];
    return out;
  }

  /**
   * Read states confirmed since the last Ready, handed out at once (e.g. while a write is in
   * flight): a ReadState depends on no pending write of this node (the commit index it carries
   * already rests on a majority of disks), only on applying up to its index.
   */
  takeReadStates(): ReadState[] {
    const out = this.raft.readStates;
    this.raft.readStates = [];
    return out;
  }

  /** Collects pending work. Call `advance()` once it has been handled (see Ready). */
  ready(): Ready {
    const r = this.raft;
    r.flushAppends();
    const ss = r.softState();
    const hs = r.hardState();
    const snap = r.log.unstable.snapshot;
    const entries = r.log.unstableEntries();
    const voteChanged = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
    // A new term or vote is not durable yet: messages sent in it (a candidate's vote requests,
    // a new leader's appends) must not leave before it is, or a crash could let this node
    // act twice in one term (e.g. vote again, or two leaders of one term).
    const early = voteChanged ? [] : r.msgs;
    const late = voteChanged ? r.msgs.concat(r.msgsAfterPersist) : r.msgsAfterPersist;
    const rd: {
      -readonly [K in keyof Ready]: Ready[K];
    } = {
      entries,
      committedEntries: r.log.nextCommittedEnts(MAX_COMMITTED_BYTES_PER_READY),
      messages: early,
      messagesAfterPersist: late,
      readStates: r.readStates,
      mustSync: entries.length > 0 || voteChanged,
    };
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    if (!isHardStateEqual(hs, this.prevHard)) rd.hardState = hs;
    if (snap !== null) rd.snapshot = snap;
    r.msgs = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    this.pending = rd;
    return rd;
  }

  /**
   * Acknowledges that the last Ready was handled: its snapshot, entries and HardState are
   * durable and its committed entries applied. A leader counts its newly durable entries
   * toward the commit quorum here, which may produce another Ready (commit, appends).
   */
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
    this.raft.persisted();
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
