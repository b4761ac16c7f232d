import { encodeConfChange } from './confChange/confChange.js';
import { ProposalDroppedError } from './errors.js';
import type { Config } from './raft.js';
import { Raft } from './raft.js';
import type { ProgressState } from './tracker/progress.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot, SoftState } from './types.js';
import { isHardStateEqual, isLocalMessage, isResponseMessage, makeMessage } from './types.js';

/**
 * The work raft hands the caller after inputs were fed to the node. The contract is a set of
 * ordering rules, not one fixed sequence; any order that keeps them is correct.
 *
 * Durability (what must be on disk before what):
 * - D1. Before any of `messagesAfterPersist` leaves, this Ready's `snapshot`, `entries` and
 *   `hardState` are durable (fsynced when `mustSync`). Those messages promise what that write
 *   holds: a vote the term and vote, an append acknowledgement the entries (answers to
 *   pre-votes wait with them, though they promise nothing).
 * - D2. Within that write: the snapshot before the entries (they follow it), and the entries no
 *   later than the `hardState` whose `commit` covers them (a commit on disk beyond the log on
 *   disk is a corrupt restart). One atomic batch satisfies both. `entries` replace any
 *   persisted entries at the same or higher indices.
 * - D3. `advance()` only once D1's write is durable: from then on a leader counts its own new
 *   entries toward the commit quorum (thesis §10.2.1), so a commit never rests on entries a
 *   crash of the leader could still lose.
 *
 * Sending:
 * - S1. `messages` may leave at once: before, during or after the write. They promise nothing
 *   about this node's disk (a leader's MsgApp and heartbeats, forwarded proposals and reads,
 *   pre-vote requests, MsgTimeoutNow, MsgSnap). When the Ready changes term or vote, raft puts
 *   nothing here: every message then waits in `messagesAfterPersist` (D1), so that no message
 *   of a term leaves before that term and vote are on disk.
 *
 * Applying:
 * - A1. `snapshot` first, then `committedEntries` in order (calling `applyConfChange` for each
 *   confChange entry). They may be applied as soon as `ready()` returns, in memory, even
 *   before the write: every one of them is already on a majority of disks. But they may include
 *   entries of this same Ready (on a follower, the leader's commit index can cover entries it
 *   has only just sent), so what applying produced must not become durable before this Ready's
 *   entries are (the applied index on disk must never pass the log on disk): write it with
 *   D1's batch or after it. Whether their effects (answers to clients, watch events) may be
 *   seen before D1's write lands
 *   is the application's choice: raft needs nothing either way, but a crash before the write
 *   can make this member's own state briefly older than what it showed.
 * - A2. Serve a read of `readStates` once the applied index reaches its `index`; it depends on
 *   no write of this Ready.
 * - A3. `advance()` also tells raft that `committedEntries` are applied (the next Ready's
 *   start after them) and that the snapshot is in place.
 *
 * Inputs (`step`, `tick`, `propose`, ...) may be fed between `ready()` and `advance()`;
 * `takeMessages()` hands out at once what they produced of the S1 kind (none while term or
 * vote differ from the last HardState advanced), and `takeReadStates()` their read states
 * (A2). `softState` is informational.
 *
 * Pipelining: the next `ready()` may come before `advance()` (a second write queued behind
 * the first, and committed entries applied while the first is still being fsynced). Each
 * Ready then holds only what the ones in flight do not; the rules above hold per Ready, with
 * two more:
 * - P1. The writes land in the order the Readys were handed out, and `advance()` acknowledges
 *   the oldest Ready in flight; a Ready's `messagesAfterPersist` leave only after its own and
 *   every earlier write landed. (A follower may acknowledge, in a later Ready, entries an
 *   earlier one holds; a Ready's `messages` wait for a term or vote an earlier one holds.)
 * - P2. A Ready with a snapshot is the last one until it is advanced (`hasReady()` is false).
 *
 * The simplest conforming loop: send `messages`; persist; send `messagesAfterPersist`; apply;
 * `advance()` (docs/raft.md). Cairn's server (packages/server/src/raftNode/driver.ts) uses the
 * freedom of A1 differently: it sends `messages`, installs a snapshot if any, applies
 * `committedEntries` in memory and at once releases the proposers' answers and watch events
 * (committed entries are on a majority of disks), then writes the entries, the HardState and
 * everything applied since its last write in one atomic RocksDB batch (fsynced when
 * `mustSync`; a Ready with no entries and nothing to sync writes nothing, its HardState and
 * applied state riding along with the next write), sends `messagesAfterPersist` after that
 * write, hands `readStates` to its read queue and calls `advance()`.
 */
export interface Ready {
  /** Set when the leader or role changed. Informational; never persisted. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed. */
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  /** May be sent before the Ready is persisted (S1). */
  readonly messages: readonly Message[];
  /** Must not be sent before the Ready's snapshot, entries and HardState are durable (D1). */
  readonly messagesAfterPersist: readonly Message[];
  readonly snapshot?: Snapshot;
  readonly readStates: readonly ReadState[];
  /** Whether D1's write must be fsynced: term or vote changed, or entries or a snapshot are to be written. */
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
  /** The HardState last made durable (advanced), and the last one handed out in a Ready. */
  private prevHard: HardState;
  private handedHard: HardState;
  /** Readys handed out and not yet advanced, oldest first. */
  private readonly pending: Ready[] = [];

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoft = this.raft.softState();
    this.prevHard = config.storage.initialState().hardState;
    this.handedHard = this.prevHard;
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

  /** Tells a follower that the connection to `id` dropped (see Raft.leaderLinkLost). */
  leaderLinkLost(id: NodeId): void {
    this.raft.leaderLinkLost(id);
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

  /**
   * Whether `ready()` has something to hand out. While earlier Readys are not yet advanced it
   * counts only what they do not hold; and it is false while one of them carries a snapshot
   * (the next Ready waits for that one's `advance()`).
   */
  hasReady(): boolean {
    const r = this.raft;
    if (this.snapshotPending()) return false;
    r.flushAppends();
    const ss = r.softState();
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) return true;
    if (!isHardStateEqual(r.hardState(), this.handedHard)) return true;
    if (r.msgs.length > 0 || r.msgsAfterPersist.length > 0 || r.log.unstable.hasToHandOut() || r.log.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /** Readys handed out and not yet advanced. */
  get inFlight(): number {
    return this.pending.length;
  }

  private snapshotPending(): boolean {
    for (const rd of this.pending) if (rd.snapshot !== undefined) return true;
    return false;
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

  /**
   * Collects pending work. Call `advance()` once it has been handled (see Ready). `ready()` may
   * be called again before that (pipelined writes): each Ready holds only what the earlier
   * ones did not, their writes must land in the order they were handed out, and each
   * `advance()` acknowledges the oldest. Throws while `hasReady()` is false for a snapshot in
   * flight.
   */
  ready(): Ready {
    const r = this.raft;
    if (this.snapshotPending()) throw new Error('raft: ready while a snapshot is in flight');
    r.flushAppends();
    const ss = r.softState();
    const hs = r.hardState();
    const unstable = r.log.unstable;
    const snap = unstable.snapshot !== null && !unstable.snapshotInProgress ? unstable.snapshot : null;
    const entries = unstable.toHandOut();
    // A term or vote not durable yet (in this Ready, or in one still in flight): messages sent
    // in it (a candidate's vote requests, a new leader's appends) must not leave before it is,
    // or a crash could let this node act twice in one term (vote again, or two leaders of one
    // term). They leave after this Ready's write, which lands after the earlier ones.
    const notDurable = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
    const voteChanged = hs.term !== this.handedHard.term || hs.vote !== this.handedHard.vote;
    const early = notDurable ? [] : r.msgs;
    const late = notDurable ? r.msgs.concat(r.msgsAfterPersist) : r.msgsAfterPersist;
    const committedEntries = r.log.nextCommittedEnts(MAX_COMMITTED_BYTES_PER_READY);
    const rd: {
      -readonly [K in keyof Ready]: Ready[K];
    } = {
      entries,
      committedEntries,
      messages: early,
      messagesAfterPersist: late,
      readStates: r.readStates,
      mustSync: entries.length > 0 || voteChanged || snap !== null,
    };
    if (ss.lead !== this.prevSoft.lead || ss.raftState !== this.prevSoft.raftState) {
      rd.softState = ss;
      this.prevSoft = ss;
    }
    if (!isHardStateEqual(hs, this.handedHard)) {
      rd.hardState = hs;
      this.handedHard = hs;
    }
    if (snap !== null) rd.snapshot = snap;
    unstable.handedOut();
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) r.log.applying = lastCommitted.index;
    r.msgs = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    this.pending.push(rd);
    return rd;
  }

  /**
   * Acknowledges the oldest Ready not yet acknowledged: its snapshot, entries and HardState
   * are durable and its committed entries applied. A leader counts its newly durable entries
   * toward the commit quorum here, which may produce another Ready (commit, appends).
   */
  advance(): void {
    const rd = this.pending.shift();
    if (rd === undefined) throw new Error('raft: advance without ready');
    const log = this.raft.log;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      log.appliedSnapshot(rd.snapshot.metadata.index);
    }
    // The last of its entries still in the log: a later Ready may have replaced a suffix of
    // them (a new leader's entries), which then counts only once that Ready's write lands.
    for (let i = rd.entries.length - 1; i >= 0; i--) {
      const e = rd.entries[i]!;
      if (log.unstable.term(e.index) !== e.term) continue;
      log.stableTo(e.index, e.term);
      break;
    }
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
