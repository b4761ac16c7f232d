import { ProposalDroppedError } from './errors.js';
import type { RaftLog } from './log.js';
import { majorityVoteResult } from './quorum/majority.js';
import type { ReadOnly } from './readOnly.js';
import type { ProgressTracker } from './tracker/tracker.js';
import type { Entry, Logger, Message, NodeId, ReadState, Snapshot, StateType } from './types.js';
import { NONE, makeMessage } from './types.js';

/*
 * Role behaviour. A node's role is the pair (stepFn, tickFn) installed by becomeFollower /
 * becomeCandidate / becomePreCandidate / becomeLeader; messages reach these functions only
 * after Raft.step has handled terms, so here m.term is the current term (or 0 for local).
 *
 * A role sees the node only through RoleHost (raft.ts's Raft implements it): the node's
 * state is read-only here, and a role changes it only through the operations listed there,
 * each of which keeps the node's invariants. The sub-structures it hands out (the log, the
 * progress tracker, the pending reads, the timers) are changed through their own methods.
 */

/** A role's step function: handles `m` (already term-checked by the node). */
export type StepFn = (r: RoleHost, m: Message) => void;
/** A role's tick function: one tick of logical time. */
export type TickFn = (r: RoleHost) => void;

/** The node's logical clocks, in ticks. Reset by the node on a role change; advanced by the role's tick function. */
export interface Timers {
  /**
   * Follower and candidate: ticks since the leader was last heard from or the election began.
   * Leader: ticks since the last CheckQuorum round (and since a leadership transfer began).
   */
  electionElapsed: number;
  /** Leader: ticks since the last heartbeat broadcast. */
  heartbeatElapsed: number;
  /** This term's election timeout, drawn from [electionTicks, 2*electionTicks). */
  randomizedElectionTimeout: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

/** The node as its role sees it. */
export interface RoleHost {
  readonly id: NodeId;
  readonly term: number;
  readonly state: StateType;
  /** The leader this node follows (NONE if unknown); itself when it leads. */
  readonly lead: NodeId;
  /** The member a leadership transfer is handing over to (NONE: none in progress). */
  readonly leadTransferee: NodeId;
  readonly checkQuorum: boolean;
  readonly logger: Logger | undefined;
  readonly log: RaftLog;
  readonly prs: ProgressTracker;
  readonly readOnly: ReadOnly;
  readonly timers: Timers;

  /** Feeds a message to the node as if received (the tick functions send local messages). */
  step(m: Message): void;
  /** Whether this node may become leader (it is a voter). */
  promotable(): boolean;

  // Transitions.
  becomeFollower(term: number, lead: NodeId): void;
  becomeLeader(): void;
  /** Starts an election if allowed (pre-vote first when enabled); `transfer` from MsgTimeoutNow. */
  hup(transfer: boolean): void;
  campaign(kind: 'pre' | 'election', transfer: boolean): void;
  /** Records a vote and tallies the election. */
  poll(id: NodeId, granted: boolean): 'pending' | 'lost' | 'won';

  // Output.
  send(m: Message): void;
  /** A ReadIndex request of this node was answered. */
  addReadState(rs: ReadState): void;

  // Leader side.
  /** Accepts a proposal into the log, to be replicated with the next Ready. Throws ProposalDroppedError. */
  appendProposal(m: Message): void;
  /** Sends entries (or a snapshot) to `to` if its progress allows. Returns whether a message was sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean;
  sendAppend(to: NodeId): void;
  bcastAppend(): void;
  /** Heartbeats to every follower, carrying `ctx` (default: the newest pending ReadIndex request). */
  bcastHeartbeat(ctx: Uint8Array | undefined): void;
  sendTimeoutNow(to: NodeId): void;
  /** Advances the commit index from the followers' progress. Returns whether it moved. */
  maybeCommit(): boolean;
  committedEntryInCurrentTerm(): boolean;
  /** Holds a ReadIndex request until an entry of this term commits. */
  holdReadIndex(m: Message): void;
  /** Begins handing leadership to `to`; it must finish within an election timeout. */
  startLeaderTransfer(to: NodeId): void;
  abortLeaderTransfer(): void;

  // Follower side.
  /** Heard from the current leader `id`: it leads, and the election timer restarts. */
  followLeader(id: NodeId): void;
  /** The log was rewritten from index `from` on with `ents` (the tail of an accepted MsgApp). */
  logRewritten(from: number, ents: readonly Entry[]): void;
  /** Installs a snapshot from the leader. Returns false if it is not newer than our committed log. */
  restore(s: Snapshot): boolean;
}

export function tickElection(r: RoleHost): void {
  const t = r.timers;
  t.electionElapsed++;
  if (r.promotable() && t.electionElapsed >= t.randomizedElectionTimeout) {
    t.electionElapsed = 0;
    r.step(makeMessage({ type: 'MsgHup', from: r.id }));
  }
}

export function tickHeartbeat(r: RoleHost): void {
  const t = r.timers;
  t.heartbeatElapsed++;
  t.electionElapsed++;
  if (t.electionElapsed >= t.electionTicks) {
    t.electionElapsed = 0;
    if (r.checkQuorum) r.step(makeMessage({ type: 'MsgCheckQuorum', from: r.id }));
    // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
    if (r.state === 'leader' && r.leadTransferee !== NONE) r.abortLeaderTransfer();
  }
  if (r.state !== 'leader') return;
  if (t.heartbeatElapsed >= t.heartbeatTicks) {
    t.heartbeatElapsed = 0;
    r.step(makeMessage({ type: 'MsgBeat', from: r.id }));
  }
}

export function stepLeader(r: RoleHost, m: Message): void {
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- other types are not handled by this role
  switch (m.type) {
    case 'MsgBeat':
      r.bcastHeartbeat(undefined);
      return;
    case 'MsgCheckQuorum':
      // A leader that cannot hear from a quorum for an election timeout steps down, so that
      // clients on the minority side stop waiting on it (thesis §6.2).
      if (!r.prs.quorumActive(r.id)) {
        r.logger?.warn('stepping down: a quorum of voters has not been heard from', { term: r.term });
        r.becomeFollower(r.term, NONE);
      }
      for (const id of r.prs.ids) if (id !== r.id) r.prs.progress.get(id)!.recentActive = false;
      return;
    case 'MsgProp': {
      if (m.entries.length === 0) throw new Error('raft: empty proposal');
      r.appendProposal(m);
      return;
    }
    case 'MsgReadIndex':
      handleReadIndex(r, m);
      return;
    default:
      break;
  }

  const pr = r.prs.progress.get(m.from);
  if (pr === undefined) return;
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- other types are not handled by this role
  switch (m.type) {
    case 'MsgAppResp': {
      pr.recentActive = true;
      if (m.reject) {
        // Use the follower's hint to skip whole terms instead of one index per round trip.
        let next = m.rejectHint;
        if (m.logTerm > 0) {
          const l = r.log.lastIndexOfTerm(m.logTerm, m.index);
          if (l !== undefined) next = l + 1;
        }
        if (pr.maybeDecrTo(m.index, next)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) return;
      if (pr.state === 'probe') {
        pr.becomeReplicate();
      } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
        // The follower caught up from the snapshot: resume normal replication.
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === 'replicate') {
        pr.inflights.freeLE(m.index);
      }
      if (r.maybeCommit()) {
        if (r.state !== 'leader') return; // stepped down (removed from the configuration)
        r.bcastAppend();
      } else if (oldPaused) {
        r.sendAppend(m.from);
      }
      // Keep the pipeline full while there is more to send.
      while (r.maybeSendAppend(m.from, false)) {
        // loop
      }
      if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
        r.sendTimeoutNow(m.from);
      }
      return;
    }
    case 'MsgHeartbeatResp': {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // A MsgApp may have been lost with the window full: the follower is alive, so free a
      // slot and let replication (or a rejection that moves us back to probe) resume.
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.log.lastIndex()) r.sendAppend(m.from);
      if (m.context.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === undefined) return;
      if (majorityVoteResult(r.prs.voters, (id) => (acks.has(id) ? true : undefined)) !== 'won') return;
      for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
      return;
    }
    case 'MsgSnapStatus':
      if (pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for an append response or a heartbeat response before probing again.
      pr.msgAppFlowPaused = true;
      return;
    case 'MsgUnreachable':
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case 'MsgTransferLeader': {
      const transferee = m.from;
      if (pr.isLearner || transferee === r.id) return;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return;
        r.abortLeaderTransfer();
      }
      r.startLeaderTransfer(transferee);
      if (pr.match === r.log.lastIndex()) r.sendTimeoutNow(transferee);
      else r.sendAppend(transferee);
      return;
    }
    default:
      return;
  }
}

function handleReadIndex(r: RoleHost, m: Message): void {
  if (r.prs.voters.length === 1 && r.prs.isVoter(r.id)) {
    respondToReadIndex(r, m, r.log.committed);
    return;
  }
  // The commit index is only known to be up to date once an entry of this term committed
  // (thesis §6.4 step 1); until then, hold the request.
  if (!r.committedEntryInCurrentTerm()) {
    r.holdReadIndex(m);
    return;
  }
  r.readOnly.addRequest(r.log.committed, m);
  r.readOnly.recvAck(r.id, m.context);
  r.bcastHeartbeat(m.context);
}

function respondToReadIndex(r: RoleHost, req: Message, index: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.addReadState({ index, requestCtx: req.context });
  } else {
    r.send(makeMessage({ type: 'MsgReadIndexResp', to: req.from, index, context: req.context }));
  }
}

export function stepCandidate(r: RoleHost, m: Message): void {
  const myRespType = r.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- other types are not handled by this role
  switch (m.type) {
    case 'MsgProp':
      throw new ProposalDroppedError('noLeader');
    case 'MsgApp':
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp': {
      if (m.type !== myRespType) return;
      const res = r.poll(m.from, !m.reject);
      if (res === 'won') {
        if (r.state === 'preCandidate') r.campaign('election', false);
        else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === 'lost') {
        r.logger?.info(r.state === 'preCandidate' ? 'lost the pre-vote' : 'lost the election', { term: r.term });
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
      return;
  }
}

export function stepFollower(r: RoleHost, m: Message): void {
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- other types are not handled by this role
  switch (m.type) {
    case 'MsgProp':
      if (r.lead === NONE) throw new ProposalDroppedError('noLeader');
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgApp':
      r.followLeader(m.from);
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.followLeader(m.from);
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.followLeader(m.from);
      handleSnapshot(r, m);
      return;
    case 'MsgTransferLeader':
      if (r.lead === NONE) return;
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgTimeoutNow':
      // The leader asks us to start an election now, skipping pre-vote and leases (§3.10).
      r.hup(true);
      return;
    case 'MsgReadIndex':
      if (r.lead === NONE) return;
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgReadIndexResp':
      r.addReadState({ index: m.index, requestCtx: m.context });
      return;
    default:
      return;
  }
}

// ---- follower side of replication ----

export function handleAppendEntries(r: RoleHost, m: Message): void {
  if (m.index < r.log.committed) {
    r.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: r.log.committed }));
    return;
  }
  const res = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (res !== undefined) {
    if (res.conflict !== 0) r.logRewritten(res.conflict, m.entries.slice(res.conflict - m.index - 1));
    r.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: res.lastNew }));
    return;
  }
  // Reject with a hint (§5.3 optimization): our term at m.index and the first index we hold
  // with that term, or our lastIndex+1 (term 0) if our log is too short.
  const last = r.log.lastIndex();
  let hintTerm = 0;
  let hintIndex = last + 1;
  if (m.index <= last) {
    hintTerm = r.log.term(m.index) ?? 0;
    hintIndex = r.log.firstIndexOfTermAt(m.index, r.log.committed);
  }
  r.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
}

export function handleHeartbeat(r: RoleHost, m: Message): void {
  r.log.commitTo(m.commit);
  r.send(makeMessage({ type: 'MsgHeartbeatResp', to: m.from, context: m.context }));
}

export function handleSnapshot(r: RoleHost, m: Message): void {
  const s = m.snapshot;
  if (s === null) return;
  if (r.restore(s)) {
    r.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: r.log.lastIndex() }));
  } else {
    r.send(makeMessage({ type: 'MsgAppResp', to: m.from, index: r.log.committed }));
  }
}
