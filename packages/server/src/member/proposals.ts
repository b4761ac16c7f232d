import { CairnError, ErrorCode, toCairnError } from '@cairn/protocol';
import { ProposalDroppedError, decodeConfChange, type Entry, type Message } from '@cairn/raft';
import type { ApplyOutcome } from '../apply/applier.js';
import { decodeConfContext, decodeProposal } from '../apply/requests.js';
import { unwrapResponse } from '../apply/kinds.js';
import type { Clock, Scheduler } from '../clock.js';

/** What the tracker needs from the member around it. */
export interface ProposalTrackerOptions {
  readonly memberId: bigint;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Deadline of a proposal. */
  readonly requestTimeoutMs: number;
  /** The grace a proposal gets after a leader change (see `leaderChanged`). */
  readonly electionTimeoutMs: number;
  /** Raft's current term, recorded with each proposal. */
  readonly currentTerm: () => number;
  /** A proposal failed without an outcome of its own: timed out, dropped, lost with its leader, or the member stopped (metrics). */
  readonly failed?: () => void;
}

interface Waiter {
  readonly resolve: (v: never) => void;
  readonly reject: (e: unknown) => void;
  cancelTimer: () => void;
  /** When it times out (monotonic clock ms). */
  deadlineMs: number;
  /** Raft's term when it was proposed: its entry, if any, has this term (or, rarely, a later one). */
  readonly term: number;
}

/**
 * The callers waiting for their proposals: each gets a sequence number (unique on this member
 * across restarts: it starts from the clock), a deadline, and its answer once its entry is
 * applied and revealed. It also fails early what can no longer succeed: proposals dropped on
 * the way to a leader, and ones made in a term the log has moved past.
 */
export class ProposalTracker {
  private readonly waiters = new Map<bigint, Waiter>();
  private seq: bigint;
  /** Proposals applied in the Ready being handled, with their outcomes (sent on `release`). */
  private settled: { readonly waiter: Waiter; readonly outcome: ApplyOutcome }[] = [];
  /** Term of the last entry applied (see `termApplied`). */
  private appliedEntryTerm = 0;

  constructor(private readonly o: ProposalTrackerOptions) {
    this.seq = BigInt(Math.floor(o.clock.now())) << 20n;
  }

  /** Proposals waiting for their answer. */
  get pending(): number {
    return this.waiters.size;
  }

  /** A fresh sequence number for a proposal. */
  next(): bigint {
    return this.seq++;
  }

  /** Waits for the answer to proposal `seq`, which `propose` hands to raft. */
  wait<T>(seq: bigint, propose: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Waiter = { resolve: resolve as (v: never) => void, reject, cancelTimer: () => undefined, deadlineMs: 0, term: this.o.currentTerm() };
      this.arm(seq, w, this.o.requestTimeoutMs, 'request timed out');
      this.waiters.set(seq, w);
      try {
        propose();
      } catch (err) {
        this.fail(this.take(seq), droppedError(err));
      }
    });
  }

  private arm(seq: bigint, w: Waiter, ms: number, message: string): void {
    w.cancelTimer();
    w.deadlineMs = this.o.clock.monotonic() + ms;
    w.cancelTimer = this.o.scheduler.after(ms, () => {
      if (this.waiters.get(seq) !== w) return;
      this.waiters.delete(seq);
      this.fail(w, new CairnError(ErrorCode.Timeout, message));
    });
  }

  /**
   * A waiter fails without an outcome of its own (timed out, dropped, lost with its leader, the
   * member stopped): what etcd_server_proposals_failed_total counts.
   */
  private fail(w: Waiter | undefined, err: CairnError): void {
    if (w === undefined) return;
    this.o.failed?.();
    w.reject(err);
  }

  /** Removes the waiter of `seq` (its timer cancelled) and returns it. */
  private take(seq: bigint): Waiter | undefined {
    const w = this.waiters.get(seq);
    if (w === undefined) return undefined;
    this.waiters.delete(seq);
    w.cancelTimer();
    return w;
  }

  /**
   * The leader changed: a proposal still waiting may have died with the old leader. One more
   * election timeout gives the new leader time to commit what the old one replicated; after
   * that it fails (its outcome unknown, like etcd's "possibly due to previous leader failure"),
   * so that callers move on instead of waiting out the whole request timeout.
   */
  leaderChanged(): void {
    const ms = this.o.electionTimeoutMs;
    const by = this.o.clock.monotonic() + ms;
    for (const [seq, w] of this.waiters) {
      if (w.deadlineMs > by) this.arm(seq, w, ms, 'request timed out, possibly due to previous leader failure');
    }
  }

  /**
   * Messages to `peer` never left. Proposals among them (forwarded to a leader that is gone)
   * fail now with `unavailable`, which is safe to retry: they were never seen.
   */
  undelivered(peer: bigint, dropped: readonly Message[]): void {
    for (const m of dropped) {
      if (m.type !== 'MsgProp') continue;
      for (const e of m.entries) {
        const seq = this.ownSeq(e);
        if (seq !== undefined) this.fail(this.take(seq), new CairnError(ErrorCode.Unavailable, `leader ${peer.toString(16)} unreachable; the request was not proposed`));
      }
    }
  }

  /** The sequence number of this member's own proposal in `e`, if it is one. */
  private ownSeq(e: Entry): bigint | undefined {
    try {
      if (e.type === 'confChange') {
        const ctx = decodeConfContext(decodeConfChange(e.data).context);
        return ctx.origin === this.o.memberId ? ctx.seq : undefined;
      }
      if (e.data.length === 0) return undefined;
      const p = decodeProposal(e.data);
      return p.origin === this.o.memberId ? p.seq : undefined;
    } catch {
      return undefined;
    }
  }

  /** Proposal (`origin`, `seq`) was applied with `outcome`; its caller hears on `release`. */
  applied(origin: bigint, seq: bigint, outcome: ApplyOutcome): void {
    if (origin !== this.o.memberId) return;
    const w = this.take(seq);
    if (w !== undefined) this.settled.push({ waiter: w, outcome });
  }

  /** Answers every proposal applied since the last release (the entries are committed). */
  release(): void {
    const settled = this.settled;
    this.settled = [];
    for (const { waiter, outcome } of settled) {
      if (outcome.ok) waiter.resolve(unwrapResponse(outcome.response) as never);
      else waiter.reject(outcome.error);
    }
  }

  /**
   * An entry of `term` is being applied. Terms never decrease along the log, so every
   * committed entry of an older term is already applied: a proposal made in an older term and
   * still unanswered was lost with its leader. It fails now (outcome unknown, as after the
   * grace of `leaderChanged`, since in a rare case a leader re-elected in a term this member
   * had not heard of appended it with that later term) instead of a full election timeout later.
   */
  termApplied(term: number): void {
    if (term <= this.appliedEntryTerm) return;
    this.appliedEntryTerm = term;
    for (const [seq, w] of this.waiters) {
      if (w.term >= term) continue;
      this.fail(this.take(seq), new CairnError(ErrorCode.Timeout, `request timed out, possibly due to previous leader failure (proposed in term ${w.term}, now applying term ${term})`));
    }
  }

  /** Fails every caller still waiting (the member stopped). */
  failAll(err: CairnError): void {
    for (const s of this.settled) s.waiter.reject(err);
    this.settled = [];
    for (const seq of [...this.waiters.keys()]) this.fail(this.take(seq), err);
  }
}

/** A proposal raft would not take, as the client's error. */
function droppedError(err: unknown): CairnError {
  if (!(err instanceof ProposalDroppedError)) return toCairnError(err);
  switch (err.reason) {
    case 'noLeader':
      return new CairnError(ErrorCode.NoLeader);
    case 'transferring':
      return new CairnError(ErrorCode.LeaderChanged, 'leadership transfer in progress');
    case 'tooManyUncommitted':
      return new CairnError(ErrorCode.Unavailable, 'too many requests');
    case 'confChangePending':
      return new CairnError(ErrorCode.Unavailable, 'a membership change is in progress; try again');
    case 'notMember':
      return new CairnError(ErrorCode.NotCapable, 'this member was removed from the cluster');
  }
}
