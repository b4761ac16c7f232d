/**
 * The layout of one member's RocksDB keyspace. The first byte of every key names its table:
 *
 *   'h' main:u64be sub:u32be   -> history record (an encoded KeyValue, see mvcc/kvRecord.ts)
 *   'm' name(utf8)             -> meta value (msgpack), names in `MetaKey`
 *   'l' ...                    -> lease records (lease task)
 *   'a' 'u' name               -> user record (msgpack; password only as a salted scrypt hash)
 *   'a' 'r' name               -> role record with its permissions
 *   'a' 'm' name               -> auth meta: enabled flag, auth revision, token-signing secret
 *   'x' member:u64be type      -> an active alarm (NOSPACE ...), raised through the log
 *   'c' 'm' id:u64be           -> a cluster member (name, peer and client URLs, learner flag)
 *   'c' 'x' id:u64be           -> a member removed from the cluster (never to come back)
 *   'r' ...                    -> raft log, HardState, snapshot metadata (raftNode/logStorage.ts)
 *   'i' name(utf8)             -> this member's own facts: its id, its cluster's id, removed
 *   'z' key                    -> a snapshot being received: the leader's key, staged
 *
 * Tables a, c, h, l, m, x are the replicated state machine: a snapshot streams exactly them,
 * and installing one replaces exactly them. Tables i, r and z belong to this member alone.
 *
 * Revisions are big-endian so history sorts by revision; a scan of 'h' is the store's history
 * in the order it was written.
 */
export const TABLE_HISTORY = 0x68; // 'h'
export const TABLE_META = 0x6d; // 'm'
export const TABLE_AUTH = 0x61; // 'a'
export const TABLE_ALARM = 0x78; // 'x'
export const TABLE_CLUSTER = 0x63; // 'c'
export const TABLE_RAFT = 0x72; // 'r'
export const TABLE_LOCAL = 0x69; // 'i'
export const TABLE_STAGING = 0x7a; // 'z'

/** The first bytes of the replicated tables, ascending. */
export const STATE_TABLES: readonly number[] = [TABLE_AUTH, TABLE_CLUSTER, TABLE_HISTORY, 0x6c /* lease */, TABLE_META, TABLE_ALARM];

/** Whether a key belongs to the replicated state machine (see the table list above). */
export function isStateKey(key: Uint8Array): boolean {
  return key.length > 0 && STATE_TABLES.includes(key[0]!);
}

/** [start, end) of one table. */
export function tableRange(table: number): { readonly gte: Uint8Array; readonly lt: Uint8Array } {
  return { gte: new Uint8Array([table]), lt: new Uint8Array([table + 1]) };
}

export const HISTORY_KEY_BYTES = 13;
/** Largest main revision: history keys hold it as an unsigned 64-bit value, JS as a safe integer. */
export const MAX_MAIN_REVISION = Number.MAX_SAFE_INTEGER;
export const MAX_SUB_REVISION = 0xffff_ffff;

export function historyKey(main: number, sub: number): Uint8Array {
  const k = new Uint8Array(HISTORY_KEY_BYTES);
  k[0] = TABLE_HISTORY;
  const dv = new DataView(k.buffer);
  dv.setUint32(1, Math.floor(main / 0x1_0000_0000));
  dv.setUint32(5, main >>> 0);
  dv.setUint32(9, sub);
  return k;
}

export function parseHistoryKey(k: Uint8Array): { main: number; sub: number } {
  if (k.length !== HISTORY_KEY_BYTES || k[0] !== TABLE_HISTORY) throw new Error('not a history key');
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return { main: dv.getUint32(1) * 0x1_0000_0000 + dv.getUint32(5), sub: dv.getUint32(9) };
}

/** [start, end) of the whole history table. */
export const HISTORY_START = new Uint8Array([TABLE_HISTORY]);
export const HISTORY_END = new Uint8Array([TABLE_HISTORY + 1]);

export const MetaKey = {
  /** Index of the last log entry applied to the state machine. */
  AppliedIndex: 'appliedIndex',
  /** Term of the entry at AppliedIndex: with it, the state is a raft snapshot's data. */
  AppliedTerm: 'appliedTerm',
  /** The raft membership (voters, learners) as of AppliedIndex. */
  ConfState: 'confState',
  /** The store's current main revision (needed when compaction emptied the history). */
  Revision: 'revision',
  /** The main revision of the last finished compaction. */
  CompactRevision: 'compactRevision',
  /** A compaction requested but not yet finished (reserved; compaction here is one batch). */
  ScheduledCompactRevision: 'scheduledCompactRevision',
} as const;
export type MetaKey = (typeof MetaKey)[keyof typeof MetaKey];

const utf8 = new TextEncoder();

export function metaKey(name: MetaKey): Uint8Array {
  const n = utf8.encode(name);
  const k = new Uint8Array(n.length + 1);
  k[0] = TABLE_META;
  k.set(n, 1);
  return k;
}

/** This member's own facts, in table 'i' (never part of a snapshot). */
export const LocalKey = {
  ClusterId: 'clusterId',
  MemberId: 'memberId',
  /** Set when this member applied its own removal: the data dir must not serve again. */
  Removed: 'removed',
  /** When this copy of the database was last defragmented (ms since the epoch; storage/defrag.ts). */
  LastDefrag: 'lastDefrag',
  /**
   * The members a joining member was told of ([id, peer URLs] pairs): the peers it accepts
   * until its first snapshot brings the members table, across restarts too.
   */
  JoinHints: 'joinHints',
} as const;
export type LocalKey = (typeof LocalKey)[keyof typeof LocalKey];

export function localKey(name: LocalKey): Uint8Array {
  const n = utf8.encode(name);
  const k = new Uint8Array(n.length + 1);
  k[0] = TABLE_LOCAL;
  k.set(n, 1);
  return k;
}

/** Big-endian u64 after a prefix: keys that sort by the number. */
export function u64Key(prefix: readonly number[], n: bigint): Uint8Array {
  const k = new Uint8Array(prefix.length + 8);
  k.set(prefix, 0);
  new DataView(k.buffer).setBigUint64(prefix.length, BigInt.asUintN(64, n));
  return k;
}

export function readU64(k: Uint8Array, at: number): bigint {
  return new DataView(k.buffer, k.byteOffset, k.byteLength).getBigUint64(at);
}
