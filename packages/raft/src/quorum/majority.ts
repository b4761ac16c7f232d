import type { NodeId } from '../types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

/**
 * The largest index acknowledged by a majority of `voters`: sort the acked indices in
 * descending order and take the (n/2+1)-th. Voters without an ack count as 0.
 * An empty configuration commits nothing (returns 0).
 */
export function majorityCommittedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return 0;
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) idx[i] = acked(voters[i]!) ?? 0;
  idx.sort((a, b) => b - a);
  return idx[Math.floor(n / 2)]!;
}

/**
 * Outcome of an election (or of a ReadIndex heartbeat round) given recorded votes:
 * won once a majority granted, lost once a majority can no longer be reached.
 */
export function majorityVoteResult(voters: readonly NodeId[], vote: (id: NodeId) => boolean | undefined): VoteResult {
  const n = voters.length;
  if (n === 0) return 'won';
  const q = Math.floor(n / 2) + 1;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = vote(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}
