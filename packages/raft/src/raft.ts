import { applyConfChangeToState, confStateEqual } from './confChange/confChange.js';
import { ConfHistory } from './confChange/history.js';
import { ProposalDroppedError, isStorageError } from './errors.js';
import { RaftLog } from './log.js';
import { ReadOnly } from './readOnly.js';
import type { Rng } from './rng.js';
import { stepCandidate, stepFollower, stepLeader, tickElection, tickHeartbeat, type RoleHost, type StepFn, type TickFn, type Timers } from './roles.js';
import type { Storage } from './storage.js';
import { ProgressTracker } from './tracker/tracker.js';
import type { ConfChange, ConfState, Entry, HardState, Logger, Message, NodeId, ReadState, Snapshot, SoftState, StateType } from './types.js';
import { EMPTY_BYTES, NONE, bytesEqual, entrySize, makeMessage } from './types.js';

export interface Config {
  /** This node's member id (non-zero). */
  id: NodeId;
  /** Followers start an election after a random timeout in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  /** The leader sends heartbeats every heartbeatTicks ticks. Must be < electionTicks. */
  heartbeatTicks: number;
  storage: Storage;
  /** The index the application has already applied (restart); defaults to the snapshot index. */
  applied?: number;
  /** Upper bound on the entry bytes in one MsgApp (at least one entry is always sent). */
  maxSizePerMsgBytes: number;
  /** Pipelined MsgApp per follower in replicate state. */
  maxInflightMsgs: number;
  /** The leader drops proposals while its uncommitted tail exceeds this (0/absent: unlimited). */
  maxUncommittedEntriesBytes?: number;
  /** Leader steps down without a recently active quorum; followers honour a leader lease. */
  checkQuorum: boolean;
  /** Pre-election round before incrementing the term (thesis §9.6). */
  preVote: boolean;
  rng: Rng;
  logger?: Logger;
  /**
   * TEST ONLY — deliberately breaks Raft: the leader commits entries of previous terms by
   * counting replicas (the Figure 8 bug). Exists so the simulator can prove it catches it.
   */
  unsafeCommitPreviousTermByCounting?: boolean;
  /**
   * TEST ONLY — deliberately breaks durability: the leader counts its own entries toward the
   * commit quorum when it appends them, before they are on its disk (the rule before thesis
   * §10.2.1 was applied). Exists so the simulator can prove it catches it.
   */
  unsafeCountUnpersistedSelf?: boolean;
}

/** `context` of a MsgVote sent because of MsgTimeoutNow: bypasses the leader lease. */
export const CAMPAIGN_TRANSFER: Uint8Array = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]);

/**
 * One Raft peer as a deterministic state machine. Inputs: `step(message)` and `tick()`.
 * Outputs accumulate in `msgs`, `readStates`, the log's unstable part and the commit index;
 * RawNode packages them into Ready. Roles differ only in `stepFn`/`tickFn` (see roles.ts),
 * which see this node as a RoleHost: read-only state plus the operations listed there.
 * Public fields are for RawNode and tests to read (RawNode also drains the outputs); only
 * this class changes the rest.
 */
export class Raft implements RoleHost {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = 'follower';
  readonly log: RaftLog;
  readonly prs: ProgressTracker;
  /** Messages that may leave before this node's pending state is durable (see Ready.messages). */
  msgs: Message[] = [];
  /** Responses that promise durable state: they leave only after the Ready is persisted. */
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  leadTransferee: NodeId = NONE;
  readonly timers: Timers;
  private readOnlyReqs = new ReadOnly();
  /** ReadIndex requests held until the leader commits an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  /** Leader: proposals were appended since the last broadcast (see flushAppends). */
  private appendPending = false;
  /** Leader: payload bytes of the uncommitted tail (bounded by maxUncommittedEntriesBytes). */
  private uncommittedSize = 0;
  private stepFn: StepFn = stepFollower;
  private tickFn: TickFn = tickElection;
  /** Memberships in the log; the latest is in force. */
  private readonly confs: ConfHistory;
  /** Membership as of the application's applied index (maintained by applyConfChange). */
  private appliedConf: ConfState;

  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  private readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  private readonly unsafeCommit: boolean;
  private readonly unsafeSelfCount: boolean;
  private readonly rng: Rng;
  readonly logger: Logger | undefined;

  constructor(c: Config) {
    if (c.id === NONE) throw new Error('raft: id must not be 0');
    if (c.heartbeatTicks <= 0 || c.electionTicks <= c.heartbeatTicks) throw new Error('raft: need 0 < heartbeatTicks < electionTicks');
    if (c.maxInflightMsgs <= 0) throw new Error('raft: maxInflightMsgs must be > 0');
    this.id = c.id;
    this.timers = { electionElapsed: 0, heartbeatElapsed: 0, randomizedElectionTimeout: 0, electionTicks: c.electionTicks, heartbeatTicks: c.heartbeatTicks };
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.maxMsgSize = c.maxSizePerMsgBytes;
    this.maxUncommittedSize = c.maxUncommittedEntriesBytes ?? 0;
    this.unsafeCommit = c.unsafeCommitPreviousTermByCounting === true;
    this.unsafeSelfCount = c.unsafeCountUnpersistedSelf === true;
    this.rng = c.rng;
    this.logger = c.logger;
    this.log = new RaftLog(c.storage);
    this.prs = new ProgressTracker(c.maxInflightMsgs);

    const { hardState, confState } = c.storage.initialState();
    const snapIndex = this.log.firstIndex() - 1;
    this.confs = new ConfHistory(snapIndex, confState);
    // Rebuild memberships introduced after the snapshot (entries are read in bounded chunks).
    for (let lo = this.log.firstIndex(), last = this.log.lastIndex(); lo <= last; ) {
      const ents = this.log.slice(lo, last + 1, 1 << 20);
      this.confs.appended(ents);
      lo += ents.length;
    }
    // The snapshot is committed by definition, even if the persisted commit lags it.
    if (hardState.commit > this.log.lastIndex()) throw new Error(`raft: persisted commit ${hardState.commit} beyond lastIndex ${this.log.lastIndex()}`);
    this.log.committed = Math.max(hardState.commit, snapIndex);
    this.term = hardState.term;
    this.vote = hardState.vote;
    if (c.applied !== undefined && c.applied > 0) this.log.appliedTo(c.applied);
    this.appliedConf = this.confs.at(this.log.applied);
    this.applyConfig(this.confs.current());
    this.becomeFollower(this.term, NONE);
  }

  // ---- membership ----

  /** Makes the tracker follow the latest membership in the log. */
  private syncConfig(): void {
    const cs = this.confs.current();
    if (!confStateEqual(cs, this.prs.confState())) this.applyConfig(cs);
  }

  private applyConfig(cs: ConfState): void {
    const last = this.log.lastIndex();
    this.prs.setConfig(cs, (id, p) => {
      p.next = last + 1;
      // The leader counts for itself only what is on its disk (thesis §10.2.1).
      if (id === this.id) p.match = this.log.stableIndex();
    });
    this.logger?.info('membership changed', { voters: cs.voters, learners: cs.learners });
    if (this.state !== 'leader') return;
    if (this.leadTransferee !== NONE && !this.prs.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // The quorum changed: the commit index may move, and new members need entries.
    if (this.maybeCommit()) this.bcastAppend();
  }

  /** Called by the application when it applies a confChange entry, in log order. */
  applyConfChange(cc: ConfChange): ConfState {
    this.appliedConf = applyConfChangeToState(this.appliedConf, cc);
    return this.appliedConf;
  }

  promotable(): boolean {
    return this.prs.isVoter(this.id);
  }

  /** Pending ReadIndex requests on the leader, waiting for a heartbeat quorum. */
  get readOnly(): ReadOnly {
    return this.readOnlyReqs;
  }

  // ---- state transitions ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.timers.electionElapsed = 0;
    this.timers.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const last = this.log.lastIndex();
    const stable = this.log.stableIndex();
    for (const id of this.prs.ids) {
      const p = this.prs.progress.get(id)!;
      p.match = id === this.id ? stable : 0;
      p.next = last + 1;
      p.becomeProbeFresh();
      p.recentActive = false;
    }
    this.uncommittedSize = 0;
    this.readOnlyReqs = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    const t = this.timers;
    t.randomizedElectionTimeout = t.electionTicks + this.rng.nextInt(t.electionTicks);
  }

  becomeFollower(term: number, lead: NodeId): void {
    const was = this.state;
    const prevLead = this.lead;
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = tickElection;
    this.lead = lead;
    this.state = 'follower';
    if (was !== 'follower') this.logger?.info('became follower', { term, was });
    this.noteLeader(prevLead);
  }

  /** Logs a change of the known leader (after `this.lead` moved from `prev`). */
  private noteLeader(prev: NodeId): void {
    if (this.lead === prev || this.lead === NONE) return;
    this.logger?.info('leader changed', { term: this.term, leader: this.lead, ...(prev !== NONE ? { previous: prev } : {}) });
  }

  private becomeCandidate(): void {
    if (this.state === 'leader') throw new Error('raft: leader cannot become candidate');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = tickElection;
    this.vote = this.id;
    this.state = 'candidate';
    this.logger?.info('starting an election', { term: this.term, index: this.log.lastIndex(), logTerm: this.log.lastTerm() });
  }

  private becomePreCandidate(): void {
    if (this.state === 'leader') throw new Error('raft: leader cannot become pre-candidate');
    // Neither term nor vote change: a pre-election must leave no trace if it fails.
    this.stepFn = stepCandidate;
    this.prs.resetVotes();
    this.tickFn = tickElection;
    this.lead = NONE;
    this.state = 'preCandidate';
    this.logger?.info('starting a pre-vote', { term: this.term, electionTerm: this.term + 1 });
  }

  becomeLeader(): void {
    if (this.state === 'follower') throw new Error('raft: follower cannot become leader');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = tickHeartbeat;
    this.lead = this.id;
    this.state = 'leader';
    const self = this.prs.progress.get(this.id);
    if (self !== undefined) self.becomeReplicate();
    // The no-op of §8: committing it commits every earlier entry and lets reads proceed.
    this.appendEntry([{ term: 0, index: 0, type: 'normal', data: EMPTY_BYTES }]);
    this.logger?.info('became leader', { term: this.term });
  }

  // ---- elections ----

  /** Starts an election if allowed; `transfer` comes from MsgTimeoutNow. */
  hup(transfer: boolean): void {
    if (this.state === 'leader' || !this.promotable()) return;
    if (this.preVote && !transfer) this.campaign('pre', false);
    else this.campaign('election', transfer);
  }

  campaign(kind: 'pre' | 'election', transfer: boolean): void {
    let term: number;
    let type: 'MsgPreVote' | 'MsgVote';
    if (kind === 'pre') {
      this.becomePreCandidate();
      type = 'MsgPreVote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'pre') this.campaign('election', transfer);
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.prs.voters) {
      if (id === this.id) continue;
      this.send(makeMessage({ type, to: id, term, index, logTerm, context: transfer ? CAMPAIGN_TRANSFER : EMPTY_BYTES }));
    }
  }

  poll(id: NodeId, granted: boolean): 'pending' | 'lost' | 'won' {
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---- the message entry point: term handling common to all roles (§5.1), then the role ----

  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.timers.electionElapsed < this.timers.electionTicks;
        // Leader lease (thesis §4.2.3): we heard from a leader within the minimum election
        // timeout, so a disruptive candidate (e.g. a removed server) is ignored.
        if (!force && inLease) return;
      }
      if (m.type === 'MsgPreVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // The term in a granted pre-vote response is the future term we asked about.
      } else {
        this.logger?.info('term changed by a message', { term: m.term, previousTerm: this.term, from: m.from, type: m.type });
        const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (e.g. healed from a partition) learns our term and steps down; without
        // this, with checkQuorum/preVote it could never be disrupted into doing so.
        this.send(makeMessage({ type: 'MsgAppResp', to: m.from }));
      } else if (m.type === 'MsgPreVote') {
        this.send(makeMessage({ type: 'MsgPreVoteResp', to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- other types are not handled by this role
    switch (m.type) {
      case 'MsgHup':
        this.hup(false);
        return;
      case 'MsgVote':
      case 'MsgPreVote': {
        const canVote =
          this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (m.type === 'MsgPreVote' && m.term > this.term);
        const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
        // §5.4.1: grant only to a candidate whose log is at least as up-to-date as ours.
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          this.send(makeMessage({ type: respType, to: m.from, term: m.term }));
          if (m.type === 'MsgVote') {
            this.timers.electionElapsed = 0;
            this.vote = m.from;
            this.logger?.info('voted', { candidate: m.from, term: m.term });
          } else this.logger?.debug('granted a pre-vote', { candidate: m.from, term: m.term });
        } else {
          this.send(makeMessage({ type: respType, to: m.from, term: this.term, reject: true }));
          this.logger?.debug('refused a vote', { candidate: m.from, term: m.term, type: m.type, vote: this.vote, index: this.log.lastIndex(), logTerm: this.log.lastTerm() });
        }
        return;
      }
      default:
        this.stepFn(this, m);
    }
  }

  tick(): void {
    this.tickFn(this);
  }

  /**
   * The transport saw its connection to `id` drop. If `id` is this follower's leader, the
   * leader's lease is treated as run out: the follower grants votes from now on (CheckQuorum's
   * lease check) and campaigns after the rest of its randomized timeout, [0, electionTicks)
   * ticks instead of [electionTicks, 2*electionTicks). A leader that is in fact alive loses
   * nothing: with PreVote the other voters, still hearing it, refuse the pre-election, and its
   * next heartbeat resets the timer here.
   */
  leaderLinkLost(id: NodeId): void {
    if (this.state !== 'follower' || id === NONE || this.lead !== id) return;
    const t = this.timers;
    t.electionElapsed = Math.max(t.electionElapsed, t.electionTicks);
  }

  // ---- sending ----

  /**
   * Queues a message. Responses that vote or acknowledge entries (MsgVoteResp, MsgPreVoteResp,
   * MsgAppResp) promise durable state, so they wait in `msgsAfterPersist`; everything else may
   * leave while the Ready's state is being persisted (RawNode still holds all of it back when
   * term or vote changed in that Ready).
   */
  send(m: Message): void {
    let msg = m;
    if (msg.from === NONE) msg = { ...msg, from: this.id };
    if (msg.type === 'MsgVote' || msg.type === 'MsgVoteResp' || msg.type === 'MsgPreVote' || msg.type === 'MsgPreVoteResp') {
      // Vote traffic carries the term it is about (which may be a future term for pre-votes).
      if (msg.term === 0) throw new Error(`raft: ${msg.type} without term`);
    } else if (msg.type !== 'MsgProp' && msg.type !== 'MsgReadIndex') {
      msg = { ...msg, term: this.term };
    }
    // Forwarded proposals and read requests stay term-less (term 0): the leader treats them
    // like local requests, and they never change anyone's term.
    if (msg.type === 'MsgAppResp' || msg.type === 'MsgVoteResp' || msg.type === 'MsgPreVoteResp') this.msgsAfterPersist.push(msg);
    else this.msgs.push(msg);
  }

  /** Sends entries (or a snapshot) to `to` if its progress allows. Returns whether a message was sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.log.slice(pr.next, this.log.lastIndex() + 1, this.maxMsgSize);
      } catch (e) {
        if (!isStorageError(e, 'compacted')) throw e;
      }
    }
    if (prevTerm === undefined || ents === undefined) {
      // The entries the follower needs were compacted: send a snapshot instead.
      if (!pr.recentActive) return false;
      let snap: Snapshot;
      try {
        snap = this.log.snapshot();
      } catch (e) {
        if (isStorageError(e, 'snapshotTemporarilyUnavailable')) return false;
        throw e;
      }
      if (snap.metadata.index === 0) throw new Error('raft: need a non-empty snapshot');
      pr.becomeSnapshot(snap.metadata.index);
      this.logger?.info('sending a snapshot', { to, index: snap.metadata.index, term: snap.metadata.term });
      this.send(makeMessage({ type: 'MsgSnap', to, snapshot: snap }));
      return true;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += entrySize(e);
    this.send(makeMessage({ type: 'MsgApp', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    pr.sentEntries(ents.length, prevIndex + ents.length, bytes);
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends appends deferred by proposals; called by RawNode before building a Ready. */
  flushAppends(): void {
    if (!this.appendPending) return;
    this.appendPending = false;
    if (this.state !== 'leader') return;
    // Fill each follower's window: probe sends one message, replicate up to maxInflightMsgs.
    for (const id of this.prs.ids) {
      if (id === this.id) continue;
      while (this.maybeSendAppend(id, false)) {
        // keep sending
      }
    }
  }

  bcastAppend(): void {
    for (const id of this.prs.ids) if (id !== this.id) this.sendAppend(id);
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array): void {
    // Never tell a follower about a commit beyond what it is known to hold.
    const pr = this.prs.progress.get(to);
    const commit = Math.min(pr?.match ?? 0, this.log.committed);
    this.send(makeMessage({ type: 'MsgHeartbeat', to, commit, context: ctx }));
  }

  bcastHeartbeat(ctx: Uint8Array | undefined): void {
    const c = ctx ?? this.readOnly.lastPendingRequestCtx() ?? EMPTY_BYTES;
    for (const id of this.prs.ids) if (id !== this.id) this.sendHeartbeat(id, c);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(makeMessage({ type: 'MsgTimeoutNow', to }));
  }

  startLeaderTransfer(to: NodeId): void {
    this.timers.electionElapsed = 0; // the transfer must finish within one election timeout
    this.leadTransferee = to;
    this.logger?.info('transferring leadership', { to, term: this.term });
  }

  abortLeaderTransfer(): void {
    if (this.leadTransferee !== NONE && this.state === 'leader') this.logger?.info('leadership transfer aborted', { to: this.leadTransferee, term: this.term });
    this.leadTransferee = NONE;
  }

  addReadState(rs: ReadState): void {
    this.readStates.push(rs);
  }

  holdReadIndex(m: Message): void {
    this.pendingReadIndexMessages.push(m);
  }

  // ---- leader log management ----

  appendProposal(m: Message): void {
    this.checkProposal(m);
    if (!this.appendEntry(m.entries)) throw new ProposalDroppedError('tooManyUncommitted');
    // Replication is deferred to the next Ready so that a burst of proposals leaves in as
    // few MsgApp as maxSizePerMsgBytes allows.
    this.appendPending = true;
  }

  /** Appends entries at the leader (assigning term and index). Returns false if dropped for size. */
  private appendEntry(es: readonly Entry[]): boolean {
    const li = this.log.lastIndex();
    const ents = es.map((e, i) => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    let size = 0;
    for (const e of ents) size += e.data.length;
    if (this.maxUncommittedSize > 0 && size > 0 && this.uncommittedSize > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    this.uncommittedSize += size;
    const last = this.log.append(ents);
    this.confs.appended(ents);
    // No self-acknowledgement here: the leader's own match moves in `persisted()`, once the
    // driver reports these entries durable. Followers may persist and acknowledge them first.
    if (this.unsafeSelfCount) this.prs.progress.get(this.id)?.maybeUpdate(last);
    this.syncConfig();
    if (this.unsafeSelfCount) this.maybeCommit();
    return true;
  }

  /**
   * The driver made the log durable up to `log.stableIndex()` (RawNode.advance). A leader now
   * counts itself as holding those entries, which may commit them (thesis §10.2.1: the leader
   * writes to its disk in parallel with replication and counts itself only once durable).
   */
  persisted(): void {
    if (this.state !== 'leader') return;
    const self = this.prs.progress.get(this.id);
    if (self === undefined || !self.maybeUpdate(this.log.stableIndex())) return;
    if (this.maybeCommit() && this.state === 'leader') this.bcastAppend();
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /**
   * Advances the commit index to the highest index replicated on a majority, but only if that
   * entry is of the current term (§5.4.2, Figure 8); earlier entries commit with it.
   */
  maybeCommit(): boolean {
    const mci = this.prs.committed();
    if (mci <= this.log.committed) return false;
    if (!this.unsafeCommit && this.log.term(mci) !== this.term) return false;
    const old = this.log.committed;
    this.log.commitTo(mci);
    this.onCommitAdvanced(old);
    return true;
  }

  private onCommitAdvanced(old: number): void {
    if (this.maxUncommittedSize > 0 && this.uncommittedSize > 0) {
      for (const e of this.log.slice(old + 1, this.log.committed + 1, Number.MAX_SAFE_INTEGER)) this.uncommittedSize -= e.data.length;
      if (this.uncommittedSize < 0) this.uncommittedSize = 0;
    }
    if (this.state !== 'leader') return;
    if (this.committedEntryInCurrentTerm() && this.pendingReadIndexMessages.length > 0) {
      const pending = this.pendingReadIndexMessages;
      this.pendingReadIndexMessages = [];
      for (const m of pending) stepLeader(this, m);
    }
    // A leader removed by C_new manages the cluster until C_new commits, then steps down (§4.2.2).
    if (!this.prs.isVoter(this.id) && this.log.committed >= this.confs.lastIndex()) {
      this.logger?.info('removed from the configuration, stepping down', { term: this.term, index: this.log.committed });
      this.becomeFollower(this.term, NONE);
    }
  }

  /** Proposal acceptance at the leader. Throws ProposalDroppedError. */
  private checkProposal(m: Message): void {
    if (!this.prs.isMember(this.id) || !this.prs.isVoter(this.id)) throw new ProposalDroppedError('notMember');
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError('transferring');
    let confs = 0;
    for (const e of m.entries) if (e.type === 'confChange') confs++;
    if (confs > 0) {
      // One change at a time (§4.1), and only after an entry of this term committed: otherwise
      // an uncommitted change from a previous term could still be in some logs.
      if (confs > 1 || this.confs.lastIndex() > this.log.committed || !this.committedEntryInCurrentTerm()) {
        throw new ProposalDroppedError('confChangePending');
      }
    }
  }

  // ---- follower side ----

  followLeader(id: NodeId): void {
    const prev = this.lead;
    this.timers.electionElapsed = 0;
    this.lead = id;
    this.noteLeader(prev);
  }

  logRewritten(from: number, ents: readonly Entry[]): void {
    // Memberships follow the log, committed or not (thesis §4.1).
    this.confs.truncated(from);
    this.confs.appended(ents);
    this.syncConfig();
  }

  /** Installs a snapshot from the leader. Returns false if it is not newer than our committed log. */
  restore(s: Snapshot): boolean {
    const { index, term } = s.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit index.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(s);
    this.logger?.info('restored a snapshot', { index, term, voters: s.metadata.confState.voters, learners: s.metadata.confState.learners });
    this.confs.reset(index, s.metadata.confState);
    this.appliedConf = s.metadata.confState;
    this.syncConfig();
    return true;
  }

  // ---- state for RawNode ----

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}

