/**
 * The sizes `endpoint status` reports and the quota compares, from the backend's physical size.
 *
 * One RocksDB holds both the state machine and the raft log. The raft log plays the part of
 * etcd's WAL (bounded by --snapshot-count, dropped behind snapshots), and etcd counts neither
 * its WAL in DB SIZE nor in the quota; so here DB SIZE is RocksDB's size (live SST files and
 * memtables) minus the bytes of the stored raft entries. That is what deletes, compaction and
 * a defrag shrink: after a compaction the deleted history is still on disk until RocksDB's own
 * compactions or a defrag rewrite it, as in etcd's bbolt until a defrag.
 *
 * DB SIZE IN USE estimates what a defrag would leave: the history records' bytes (see
 * MvccStore.historyBytes) plus the other state tables, which are small (`otherStateBytes`).
 * Both are uncompressed byte counts; RocksDB compresses its lower levels, so a database of
 * compressible values can be smaller on disk than the raft log's count, and DB SIZE then
 * reads low (never below 0).
 */
export interface DbSizes {
  readonly dbSizeBytes: number;
  readonly dbSizeInUseBytes: number;
}

/** Headroom for the meta, lease, auth, alarm and member tables in the in-use estimate. */
const OTHER_STATE_BYTES = 4096;

export function dbSizes(physicalBytes: number, raftLogBytes: number, historyBytes: number): DbSizes {
  const dbSizeBytes = Math.max(0, physicalBytes - raftLogBytes);
  return { dbSizeBytes, dbSizeInUseBytes: Math.min(dbSizeBytes, historyBytes + OTHER_STATE_BYTES) };
}
