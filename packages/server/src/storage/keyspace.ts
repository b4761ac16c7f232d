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
 *   'r' ...                    -> raft log, HardState, snapshot metadata (raft driver task)
 *
 * Revisions are big-endian so history sorts by revision; a scan of 'h' is the store's history
 * in the order it was written.
 */
export const TABLE_HISTORY = 0x68; // 'h'
export const TABLE_META = 0x6d; // 'm'
export const TABLE_AUTH = 0x61; // 'a'
export const TABLE_ALARM = 0x78; // 'x'

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
  /**
   * Index of the last entry whose effects are in this database (etcd's consistent_index).
   * Equal to AppliedIndex while one batch carries both; kept apart for the raft driver.
   */
  ConsistentIndex: 'consistentIndex',
  /** The store's current main revision (needed when compaction emptied the history). */
  Revision: 'revision',
  /** The main revision of the last finished compaction. */
  CompactRevision: 'compactRevision',
  /** A compaction requested but not yet finished (reserved; compaction here is one batch). */
  ScheduledCompactRevision: 'scheduledCompactRevision',
  ClusterId: 'clusterId',
  MemberId: 'memberId',
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
