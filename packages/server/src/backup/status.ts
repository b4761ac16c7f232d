import { Crc32c } from '../mvcc/hash.js';
import { SnapshotFile, type SnapshotFraming } from './fileReader.js';

/** What `cairnutl snapshot status` reports (etcd's hash, revision, total keys, total size, and more). */
export interface SnapshotStatus {
  /** CRC-32C over every row (key and value, length-prefixed) in file order: equal files of equal state hash alike. */
  readonly hash: number;
  /** The store's revision in the snapshot. */
  readonly revision: bigint;
  /** Rows (keys of every state table: history records, meta, leases, auth, members). */
  readonly totalKey: number;
  /** Bytes of the file. */
  readonly totalSize: number;
  readonly compactRevision: bigint;
  /** History records among the rows (one per key change kept). */
  readonly historyRecords: number;
  /** The cluster and member the snapshot was taken from, and when. */
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly createdAtMs: number;
  readonly serverVersion: string;
  /** The SHA-256 the file ends with (checked), hex. */
  readonly sha256: string;
  /** `etcd` for a file saved through etcd's Snapshot API (`etcdctl snapshot save`): padded, then hashed again. */
  readonly framing: SnapshotFraming;
}

/**
 * Reads and checks a whole snapshot file (checksum, structure, end block); throws
 * SnapshotFileError naming the problem.
 */
export function snapshotStatus(path: string): SnapshotStatus {
  const file = SnapshotFile.open(path);
  try {
    const crc = new Crc32c();
    const len = new Uint8Array(4);
    const dv = new DataView(len.buffer);
    for (const [k, v] of file.rows()) {
      dv.setUint32(0, k.length);
      crc.update(len).update(k);
      dv.setUint32(0, v.length);
      crc.update(len).update(v);
    }
    const s = file.summary;
    const h = file.header;
    return {
      hash: crc.digest(),
      revision: s.revision,
      totalKey: s.rows,
      totalSize: file.size,
      compactRevision: s.compactRevision,
      historyRecords: s.historyRecords,
      clusterId: h.clusterId,
      memberId: h.memberId,
      createdAtMs: h.createdAtMs,
      serverVersion: h.serverVersion,
      sha256: file.sha256,
      framing: file.framing,
    };
  } finally {
    file.close();
  }
}
