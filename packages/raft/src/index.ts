/**
 * @cairn/raft — Raft consensus as a pure, deterministic state machine, in the shape of
 * etcd's raft library. See docs/raft.md for the driver loop.
 */
export { RawNode } from './rawNode.js';
export type { Ready, Status, ProgressStatus } from './rawNode.js';
export type { Config } from './raft.js';
export { MemoryStorage, limitSize } from './storage.js';
export type { Storage } from './storage.js';
export { StorageError, ProposalDroppedError, isStorageError } from './errors.js';
export type { StorageErrorCode, ProposalDropReason } from './errors.js';
export { SeededRng } from './rng.js';
export type { Rng } from './rng.js';
export { encodeConfChange, decodeConfChange, applyConfChangeToState, confStateEqual } from './confChange/confChange.js';
export { majorityCommittedIndex, majorityVoteResult } from './quorum/majority.js';
export type { VoteResult } from './quorum/majority.js';
export type { ProgressState } from './tracker/progress.js';
export {
  NONE,
  EMPTY_BYTES,
  EMPTY_HARD_STATE,
  EMPTY_CONF_STATE,
  EMPTY_SNAPSHOT,
  makeMessage,
  isLocalMessage,
  isResponseMessage,
  isHardStateEqual,
  isEmptyHardState,
  entrySize,
  bytesEqual,
} from './types.js';
export type {
  NodeId,
  Entry,
  EntryType,
  Message,
  MessageType,
  HardState,
  SoftState,
  StateType,
  ConfState,
  ConfChange,
  ConfChangeType,
  Snapshot,
  SnapshotMetadata,
  ReadState,
  Logger,
  LogFields,
} from './types.js';
