/**
 * Typed errors. Storage implementations throw `StorageError`; raft throws
 * `ProposalDroppedError` from `propose`/`proposeConfChange` when it cannot accept a
 * proposal. Anything else thrown from raft is a bug or a broken Storage contract.
 */

export type StorageErrorCode =
  /** The requested index is at or below the last snapshot (it was compacted away). */
  | 'compacted'
  /** The requested index is above lastIndex(). */
  | 'unavailable'
  /** `applySnapshot`/`createSnapshot` with an index older than the current snapshot. */
  | 'snapOutOfDate'
  /** `snapshot()` cannot produce one right now; raft retries later. */
  | 'snapshotTemporarilyUnavailable';

export class StorageError extends Error {
  constructor(readonly code: StorageErrorCode) {
    super(`raft storage: ${code}`);
    this.name = 'StorageError';
  }
}

export type ProposalDropReason =
  /** No leader is known (election in progress) or this node is not the leader and has no one to forward to. */
  | 'noLeader'
  /** The leader is transferring leadership. */
  | 'transferring'
  /** A configuration change is still uncommitted, or the leader has not committed an entry of its term yet. */
  | 'confChangePending'
  /** The leader's uncommitted tail exceeds maxUncommittedEntriesBytes. */
  | 'tooManyUncommitted'
  /** The leader was removed from the configuration. */
  | 'notMember';

export class ProposalDroppedError extends Error {
  constructor(readonly reason: ProposalDropReason) {
    super(`raft proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}
