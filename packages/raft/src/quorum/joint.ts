import type { NodeId } from '../types.js';
import type { VoteResult } from './majority.js';
import { majorityCommittedIndex, majorityVoteResult } from './majority.js';

/**
 * Quorum maths for a joint configuration (C_old, C_new): a decision needs a majority of
 * both halves. An empty outgoing half behaves as a plain majority configuration.
 * (Cairn changes membership one server at a time, so raft uses only the incoming half;
 * these helpers exist for completeness and are unit tested.)
 */
export function jointCommittedIndex(incoming: readonly NodeId[], outgoing: readonly NodeId[], acked: (id: NodeId) => number | undefined): number {
  const a = majorityCommittedIndex(incoming, acked);
  if (outgoing.length === 0) return a;
  return Math.min(a, majorityCommittedIndex(outgoing, acked));
}

export function jointVoteResult(incoming: readonly NodeId[], outgoing: readonly NodeId[], vote: (id: NodeId) => boolean | undefined): VoteResult {
  const a = majorityVoteResult(incoming, vote);
  if (outgoing.length === 0) return a;
  const b = majorityVoteResult(outgoing, vote);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}
