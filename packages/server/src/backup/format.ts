import { createHash, type Hash } from 'node:crypto';
import { decodeValue, encodeValue } from '@cairn/protocol';

/**
 * The snapshot file (`cairnctl snapshot save`, read by `cairnutl`), version 1:
 *
 *   magic "CAIRNSNP" (8 bytes) | version u32 = 1 | headerLen u32 | header (msgpack)
 *   blocks, each:  type u8 | payloadLen u32 | payload
 *     0x01 rows:   count u32, then count x (keyLen u32 | key | valueLen u32 | value)
 *     0x02 end:    the summary (msgpack), the last block
 *   SHA-256 of every byte before it (32 bytes), then nothing
 *
 * Integers are big-endian. The rows are the member's replicated state tables (keyspace.ts:
 * history, meta, leases, auth, cluster members, alarms) in key order, read from one RocksDB
 * point-in-time view. Like etcd's snapshot it is the state machine only, not the raft log: a
 * restore starts a new cluster with a new log from this state.
 */
export const SNAPSHOT_MAGIC = new TextEncoder().encode('CAIRNSNP');
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SHA256_BYTES = 32;
export const BLOCK_ROWS = 0x01;
export const BLOCK_END = 0x02;
/** magic + version + headerLen. */
export const PREAMBLE_BYTES = SNAPSHOT_MAGIC.length + 8;
/** type + payloadLen. */
export const BLOCK_HEADER_BYTES = 5;
/** A block bigger than this is refused when reading: bounds what a reader holds in memory. */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
export const MAX_HEADER_BYTES = 64 * 1024;

/** Who made the snapshot, and when. */
export interface SnapshotHeader {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly createdAtMs: number;
  readonly serverVersion: string;
}

/** What the end block says about the state (checked against the rows when reading). */
export interface SnapshotSummary {
  /** Rows in the file. */
  readonly rows: number;
  /** The store's revision: max(meta revision, newest history record). */
  readonly revision: bigint;
  readonly compactRevision: bigint;
  /** The raft index the state was applied up to on the member that saved it. */
  readonly appliedIndex: bigint;
  /** History records (one per key change) among the rows. */
  readonly historyRecords: number;
}

/** What went wrong with a snapshot file; the message says where. */
export const SnapshotProblem = {
  TooShort: 'too_short',
  BadMagic: 'bad_magic',
  UnsupportedVersion: 'unsupported_version',
  ChecksumMismatch: 'checksum_mismatch',
  Truncated: 'truncated',
  BadHeader: 'bad_header',
  BadBlock: 'bad_block',
  BadRow: 'bad_row',
  MissingEnd: 'missing_end',
  TrailingData: 'trailing_data',
  SummaryMismatch: 'summary_mismatch',
} as const;
export type SnapshotProblem = (typeof SnapshotProblem)[keyof typeof SnapshotProblem];

/** A snapshot file that cannot be used; `problem` says why, the message names the file and the offset. */
export class SnapshotFileError extends Error {
  override readonly name = 'SnapshotFileError';
  constructor(
    readonly problem: SnapshotProblem,
    message: string,
  ) {
    super(message);
  }
}

/** The file's first bytes: magic, version, header. */
export function encodePreamble(h: SnapshotHeader): Uint8Array {
  const header = encodeValue({ clusterId: h.clusterId, memberId: h.memberId, createdAtMs: h.createdAtMs, serverVersion: h.serverVersion });
  const out = new Uint8Array(PREAMBLE_BYTES + header.length);
  out.set(SNAPSHOT_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(SNAPSHOT_MAGIC.length, SNAPSHOT_FORMAT_VERSION);
  dv.setUint32(SNAPSHOT_MAGIC.length + 4, header.length);
  out.set(header, PREAMBLE_BYTES);
  return out;
}

/** One rows block: rows as [k, v, k, v, ...]. */
export function encodeRowsBlock(rows: readonly Uint8Array[]): Uint8Array {
  let size = BLOCK_HEADER_BYTES + 4;
  for (const r of rows) size += 4 + r.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = BLOCK_ROWS;
  dv.setUint32(1, size - BLOCK_HEADER_BYTES);
  dv.setUint32(BLOCK_HEADER_BYTES, rows.length / 2);
  let at = BLOCK_HEADER_BYTES + 4;
  for (const r of rows) {
    dv.setUint32(at, r.length);
    out.set(r, at + 4);
    at += 4 + r.length;
  }
  return out;
}

export function encodeEndBlock(s: SnapshotSummary): Uint8Array {
  const body = encodeValue({
    rows: s.rows,
    revision: s.revision,
    compactRevision: s.compactRevision,
    appliedIndex: s.appliedIndex,
    historyRecords: s.historyRecords,
  });
  const out = new Uint8Array(BLOCK_HEADER_BYTES + body.length);
  out[0] = BLOCK_END;
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, BLOCK_HEADER_BYTES);
  return out;
}

/**
 * Builds a snapshot file piece by piece: `push` each piece as it is produced, `finish` for the
 * trailing checksum. Keeps only the running hash.
 */
export class SnapshotHasher {
  private readonly sha: Hash = createHash('sha256');
  bytes = 0;

  push(piece: Uint8Array): Uint8Array {
    this.sha.update(piece);
    this.bytes += piece.length;
    return piece;
  }

  finish(): Uint8Array {
    return new Uint8Array(this.sha.digest());
  }
}

/** Decodes the header bytes (after the preamble); throws on anything that is not one. */
export function decodeHeader(bytes: Uint8Array, file: string): SnapshotHeader {
  let v: unknown;
  try {
    v = decodeValue(bytes);
  } catch {
    throw new SnapshotFileError(SnapshotProblem.BadHeader, `${file}: the header does not decode`);
  }
  const h = v as Partial<Record<keyof SnapshotHeader, unknown>> | null;
  if (h === null || typeof h !== 'object' || typeof h.createdAtMs !== 'number' || typeof h.serverVersion !== 'string') {
    throw new SnapshotFileError(SnapshotProblem.BadHeader, `${file}: the header lacks its fields`);
  }
  return { clusterId: toBig(h.clusterId), memberId: toBig(h.memberId), createdAtMs: h.createdAtMs, serverVersion: h.serverVersion };
}

export function decodeSummary(bytes: Uint8Array, file: string, at: number): SnapshotSummary {
  let v: unknown;
  try {
    v = decodeValue(bytes);
  } catch {
    throw new SnapshotFileError(SnapshotProblem.BadBlock, `${file}: the end block at offset ${at} does not decode`);
  }
  const s = v as Partial<Record<keyof SnapshotSummary, unknown>> | null;
  if (s === null || typeof s !== 'object' || typeof s.rows !== 'number' || typeof s.historyRecords !== 'number') {
    throw new SnapshotFileError(SnapshotProblem.BadBlock, `${file}: the end block at offset ${at} lacks its fields`);
  }
  return {
    rows: s.rows,
    revision: toBig(s.revision),
    compactRevision: toBig(s.compactRevision),
    appliedIndex: toBig(s.appliedIndex),
    historyRecords: s.historyRecords,
  };
}

const toBig = (v: unknown): bigint => (typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : 0n);
