import { Inflights } from './inflights.js';

/**
 * How the leader replicates to one follower:
 * - probe: the leader does not know where the follower's log matches; it sends one MsgApp
 *   at a time (paused until a response or a heartbeat response) and backs off on rejection.
 * - replicate: the follower is known to match up to `match`; entries are pipelined
 *   optimistically (next advances on send) within the inflight window.
 * - snapshot: a snapshot was sent; nothing else is sent until it is reported or acknowledged.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be replicated on the follower. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next = 1;
  state: ProgressState = 'probe';
  /** Index of the snapshot in flight (snapshot state only). */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** probe state: a MsgApp is outstanding. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;

  constructor(
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  /** Back to probe keeping `next` (used when a node changes role). */
  becomeProbeFresh(): void {
    this.resetState('probe');
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement of index n arrived. Returns whether match advanced. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Bookkeeping after sending a MsgApp whose entries end at `lastIndex`. */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    }
  }

  /**
   * The follower rejected a MsgApp whose previous index was `rejected`; `nextHint` is the
   * leader's guess from the follower's hint. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: number, nextHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, nextHint), this.match + 1, 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
