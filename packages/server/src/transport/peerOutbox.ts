import type { Message } from '@cairn/raft';

/**
 * How long a leader's append that carries no entries, only a higher commit index, waits for
 * the next append to carry that index instead (see `PeerOutbox.holds`).
 */
export const COMMIT_HOLD_MS = 2;

/**
 * What one peer link leaves out of, or holds back from, the raft messages it is given, so
 * that a batch of writes costs fewer frames. Each frame wakes the other process; on shared
 * cores that costs more than the frame's bytes. Leaving out or delaying a message is always
 * safe in raft (the network may do either); each rule below only makes sure nothing useful
 * is lost or late by more than COMMIT_HOLD_MS. State is per socket: `reset` when one drops.
 */
export class PeerOutbox {
  /** The highest append acknowledgement written on the current socket; -1: none. */
  private ackedTerm = -1;
  private ackedIndex = -1;
  private held: Message | undefined;
  private holdTimer: NodeJS.Timeout | undefined;

  /** `release` sends a held message whose wait ran out with nothing to carry it. */
  constructor(private readonly release: (m: Message) => void) {}

  /** Whether `m` goes into the next frame; false: it is left out or held. */
  admit(m: Message): boolean {
    if (this.repeatsAck(m) || this.holds(m)) return false;
    if (m.type === 'MsgAppResp' && !m.reject) {
      this.ackedIndex = m.term === this.ackedTerm ? Math.max(this.ackedIndex, m.index) : m.index;
      this.ackedTerm = m.term;
    }
    return true;
  }

  /** The socket went (or the link closed): the next one starts afresh, and what was held is dropped. */
  reset(): void {
    this.ackedTerm = -1;
    this.ackedIndex = -1;
    this.dropHeld();
  }

  private dropHeld(): void {
    this.held = undefined;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  /**
   * A follower answers every append, also the leader's empty ones that only move the commit
   * index, and that answer repeats the one it sent for the entries. It is left out: TCP
   * delivers the earlier answer first on this socket (or neither, and then the next socket
   * starts afresh), and a leader takes an answer at or below the match it holds for that
   * follower as nothing at all (a match only grows within a term; CheckQuorum's liveness
   * comes from the heartbeat answers, which always go).
   */
  private repeatsAck(m: Message): boolean {
    return m.type === 'MsgAppResp' && !m.reject && m.term === this.ackedTerm && m.index <= this.ackedIndex;
  }

  /**
   * A leader sends each follower an append with no entries whenever its commit index moves
   * (once per batch of writes), only to say so. Under load the next batch's append follows
   * within a millisecond or two and carries the same commit index or a higher one; so the
   * empty append waits up to COMMIT_HOLD_MS, and is dropped when an append of the same term
   * with at least its commit index goes first. If none comes in time it leaves as it was.
   * What waits is a follower's applying of the newest writes (its serializable reads and
   * watch events), by at most COMMIT_HOLD_MS; a follower's linearizable read does not wait,
   * since the heartbeat round of its ReadIndex carries the commit index.
   */
  private holds(m: Message): boolean {
    if (m.type !== 'MsgApp') return false;
    if (m.entries.length > 0) {
      const held = this.held;
      if (held !== undefined && m.term === held.term && m.commit >= held.commit) this.dropHeld();
      return false;
    }
    // A later empty append supersedes an earlier one; the wait is from the first.
    this.held = m;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      const h = this.held;
      this.held = undefined;
      if (h !== undefined) this.release(h);
    }, COMMIT_HOLD_MS);
    return true;
  }
}
