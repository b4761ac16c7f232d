import { majorityCommittedIndex, majorityVoteResult, type VoteResult } from '../quorum/majority.js';
import type { ConfState, NodeId } from '../types.js';
import { Progress } from './progress.js';

/**
 * Membership plus, on the leader, per-member replication progress, and votes during an
 * election. `ids` (all members) and `voters` are kept sorted so that every broadcast and
 * every quorum computation is independent of Map insertion order.
 */
export class ProgressTracker {
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  /** voters ∪ learners, sorted. */
  ids: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number) {}

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  isMember(id: NodeId): boolean {
    return this.progress.has(id);
  }

  confState(): ConfState {
    return { voters: this.voters.slice(), learners: this.learners.slice() };
  }

  /**
   * Switches membership. New members get a fresh Progress via `init`; removed members lose
   * theirs; members whose role changed keep their progress.
   */
  setConfig(cs: ConfState, init: (id: NodeId, p: Progress) => void): void {
    this.voters = cs.voters.slice().sort(cmpId);
    this.learners = cs.learners.slice().sort(cmpId);
    this.ids = [...this.voters, ...this.learners].sort(cmpId);
    const keep = new Set(this.ids);
    for (const id of [...this.progress.keys()]) if (!keep.has(id)) this.progress.delete(id);
    const learnerSet = new Set(this.learners);
    for (const id of this.ids) {
      let p = this.progress.get(id);
      if (p === undefined) {
        p = new Progress(this.maxInflight, learnerSet.has(id));
        init(id, p);
        this.progress.set(id, p);
      }
      p.isLearner = learnerSet.has(id);
    }
  }

  committed(): number {
    return majorityCommittedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: majorityVoteResult(this.voters, (id) => this.votes.get(id)) };
  }

  /** Whether a quorum of voters (counting the leader itself) was recently active. */
  quorumActive(self: NodeId): boolean {
    return majorityVoteResult(this.voters, (id) => (id === self ? true : (this.progress.get(id)?.recentActive ?? false))) === 'won';
  }
}

export function cmpId(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
