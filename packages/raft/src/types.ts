/**
 * Wire and storage types of @cairn/raft. Every value here is a plain object made of
 * numbers, bigints, booleans, strings, arrays and Uint8Arrays, so it can be MessagePacked
 * as-is (no classes, no Maps). Node ids are 64-bit member ids (`bigint`); `0n` means "none".
 * Terms and indices are JS numbers (safe up to 2^53).
 */

/** A 64-bit member id. `NONE` (0n) is never a valid id. */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export type EntryType = 'normal' | 'confChange';

/** A log entry. `index` and `term` are assigned by the leader that appended it. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Application payload; for `confChange` entries, `encodeConfChange(cc)`. Empty for the leader's no-op. */
  readonly data: Uint8Array;
}

export type MessageType =
  // Local messages: never sent over the wire; RawNode.step rejects them.
  | 'MsgHup' // start an election (or pre-election)
  | 'MsgBeat' // leader: send heartbeats
  | 'MsgCheckQuorum' // leader: step down unless a quorum was recently active
  | 'MsgUnreachable' // reportUnreachable
  | 'MsgSnapStatus' // reportSnapshot
  // Wire messages.
  | 'MsgProp' // proposal forwarded to the leader
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgTransferLeader' // `from` is the transferee
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

/**
 * One Raft message. All fields are always present (zero values when unused) so that the
 * encoding is uniform. Field meaning by type:
 * - MsgApp: `index`/`logTerm` identify the entry preceding `entries`; `commit` is the leader's commit.
 * - MsgAppResp: `index` is the follower's last matching index (accept) or the rejected `index`;
 *   on reject, `logTerm` is the follower's conflicting term (0 if its log is too short) and
 *   `rejectHint` the first index it holds with that term (or its lastIndex+1 when too short).
 * - MsgVote/MsgPreVote: `index`/`logTerm` describe the candidate's last entry.
 * - MsgHeartbeat(Resp), MsgReadIndex(Resp): `context` carries the ReadIndex request id.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly context: Uint8Array;
  readonly snapshot: Snapshot | null;
}

/** Durable per-node state; must be persisted (fsync) before the messages of the same Ready are sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export type StateType = 'follower' | 'candidate' | 'preCandidate' | 'leader';

/** Volatile state, reported for information only (never persist it). */
export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** Membership. Both arrays are sorted ascending and disjoint. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  /** The snapshot covers the log up to and including `index`, whose term is `term`. */
  readonly index: number;
  readonly term: number;
  /** The membership in force at `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly data: Uint8Array;
  readonly metadata: SnapshotMetadata;
}

/**
 * Answer to a `readIndex(context)` call: once the local applied index reaches `index`, a read
 * served from the local state machine is linearizable with respect to the request.
 */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export type ConfChangeType = 'addNode' | 'addLearnerNode' | 'removeNode';

/**
 * A single-server membership change. `addNode` on an existing learner promotes it.
 * `context` is opaque to raft (e.g. the new member's address).
 */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  readonly context: Uint8Array;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };
export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };
export const EMPTY_SNAPSHOT: Snapshot = {
  data: EMPTY_BYTES,
  metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
};

/** Builds a message with zero values for every field not given. */
export function makeMessage(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    type: m.type,
    to: m.to ?? NONE,
    from: m.from ?? NONE,
    term: m.term ?? 0,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    entries: m.entries ?? [],
    commit: m.commit ?? 0,
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    context: m.context ?? EMPTY_BYTES,
    snapshot: m.snapshot ?? null,
  };
}

export function isLocalMessage(t: MessageType): boolean {
  return t === 'MsgHup' || t === 'MsgBeat' || t === 'MsgCheckQuorum' || t === 'MsgUnreachable' || t === 'MsgSnapStatus';
}

export function isResponseMessage(t: MessageType): boolean {
  return (
    t === 'MsgAppResp' ||
    t === 'MsgVoteResp' ||
    t === 'MsgPreVoteResp' ||
    t === 'MsgHeartbeatResp' ||
    t === 'MsgUnreachable' ||
    t === 'MsgSnapStatus'
  );
}

export function isHardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptyHardState(h: HardState): boolean {
  return isHardStateEqual(h, EMPTY_HARD_STATE);
}

/** Payload bytes of an entry, the unit of `maxSizePerMsgBytes` and friends. */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Fields of a log event: ids stay bigints (NodeId), terms and indexes numbers; the logger decides
 * how to render them (the server writes ids in hex, like its other logs).
 */
export type LogFields = Readonly<Record<string, string | number | boolean | bigint | readonly bigint[]>>;

/**
 * Logger injected through Config. Raft logs notable transitions (elections, term and leader
 * changes, votes, snapshots, membership, leadership transfer) as a fixed message plus fields;
 * logging never feeds back into the state machine.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
}
