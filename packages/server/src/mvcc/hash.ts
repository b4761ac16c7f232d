import type { BackendReader } from '../storage/backend.js';
import { parseHistoryKey } from '../storage/keyspace.js';
import { decodeRecord } from './kvRecord.js';

/**
 * The hash behind `maintenance.hashKv`: etcd's HashKV semantics over Cairn's MVCC records.
 *
 * Checksum: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor
 * 0xffffffff), the one etcd uses. Input, in history order (revision ascending):
 *
 *   "cairn/hashkv/v1"                                                  once, first
 *   per record:  0x01 main:u64 sub:u32 tombstone:u8
 *                keyLen:u32 key createRevision:u64 modRevision:u64 version:u64 lease:u64
 *                valueLen:u32 value
 *   a record that does not decode: 0x02 main:u64 sub:u32 len:u32 rawBytes
 *
 * all integers big-endian. The hash covers every record with main <= hashRevision, except that
 * of the records at or below the compacted revision only those a compaction there keeps (each
 * live key's latest version) count, as etcd's `keep` set does. So it is a function of the MVCC
 * state alone, not of how RocksDB lays the bytes out: members that applied the same log agree,
 * and two members answer the same hash for the same revision and compacted revision.
 */
export const HASH_DOMAIN = 'cairn/hashkv/v1';

/**
 * Slice-by-8 tables: T[0] is the classic byte-at-a-time table, T[k][n] the CRC of byte n
 * followed by k zero bytes, so eight input bytes fold in with eight lookups and no loop.
 */
const T = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k]![n] = (t[0]![t[k - 1]![n]! & 0xff]! ^ (t[k - 1]![n]! >>> 8)) >>> 0;
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = T as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** An incremental CRC-32C. */
export class Crc32c {
  private c = 0xffffffff;

  update(bytes: Uint8Array): this {
    let c = this.c;
    let i = 0;
    const n = bytes.length;
    for (; i + 8 <= n; i += 8) {
      const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
      c =
        T7[lo & 0xff]! ^
        T6[(lo >>> 8) & 0xff]! ^
        T5[(lo >>> 16) & 0xff]! ^
        T4[lo >>> 24]! ^
        T3[bytes[i + 4]!]! ^
        T2[bytes[i + 5]!]! ^
        T1[bytes[i + 6]!]! ^
        T0[bytes[i + 7]!]!;
    }
    for (; i < n; i++) c = T0[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
    this.c = c >>> 0;
    return this;
  }

  /** The checksum of everything so far, an unsigned 32-bit number. */
  digest(): number {
    return (this.c ^ 0xffffffff) >>> 0;
  }
}

export function crc32c(bytes: Uint8Array): number {
  return new Crc32c().update(bytes).digest();
}

/**
 * What a hash is taken over, captured at one moment: a point-in-time reader of the history up
 * to `hashRevision`, and the revisions at or below `compactRevision` that survive compaction.
 */
export interface HashView {
  readonly reader: BackendReader;
  /** `${main}.${sub}` of every record at or below compactRevision still in the key index. */
  readonly keep: ReadonlySet<string>;
  readonly compactRevision: number;
  readonly hashRevision: number;
}

/** Rows read between two pauses: bounds how long one step keeps the event loop. */
export const HASH_ROWS_PER_STEP = 512;

const utf8 = new TextEncoder();

/**
 * Hashes the view, handing control back (`pause`) every `rowsPerStep` rows so that a large
 * store does not stall the member. Closes the reader.
 */
export async function hashView(view: HashView, pause: () => Promise<void>, rowsPerStep = HASH_ROWS_PER_STEP): Promise<number> {
  const h = new Crc32c().update(utf8.encode(HASH_DOMAIN));
  const fixed = new Uint8Array(46);
  const dv = new DataView(fixed.buffer);
  try {
    for (;;) {
      const rows = view.reader.next(rowsPerStep);
      if (rows.length === 0) break;
      for (const [k, v] of rows) {
        const rev = parseHistoryKey(k);
        if (rev.main > view.hashRevision) continue;
        if (rev.main <= view.compactRevision && !view.keep.has(`${rev.main}.${rev.sub}`)) continue;
        hashRecord(h, fixed, dv, rev.main, rev.sub, v);
      }
      await pause();
    }
  } finally {
    view.reader.close();
  }
  return h.digest();
}

function hashRecord(h: Crc32c, fixed: Uint8Array, dv: DataView, main: number, sub: number, raw: Uint8Array): void {
  let rec;
  try {
    rec = decodeRecord(raw);
  } catch {
    // Unreadable data still counts, byte for byte: it shows up as a mismatch, not a crash.
    fixed[0] = 0x02;
    setU64(dv, 1, main);
    dv.setUint32(9, sub);
    dv.setUint32(13, raw.length);
    h.update(fixed.subarray(0, 17)).update(raw);
    return;
  }
  const { kv, tombstone } = rec;
  fixed[0] = 0x01;
  setU64(dv, 1, main);
  dv.setUint32(9, sub);
  fixed[13] = tombstone ? 1 : 0;
  dv.setUint32(14, kv.key.length);
  h.update(fixed.subarray(0, 18)).update(kv.key);
  dv.setBigUint64(0, BigInt.asUintN(64, kv.createRevision));
  dv.setBigUint64(8, BigInt.asUintN(64, kv.modRevision));
  dv.setBigUint64(16, BigInt.asUintN(64, kv.version));
  dv.setBigUint64(24, BigInt.asUintN(64, kv.lease));
  dv.setUint32(32, kv.value.length);
  h.update(fixed.subarray(0, 36)).update(kv.value);
}

/** A safe integer as a big-endian u64, without a bigint. */
function setU64(dv: DataView, at: number, n: number): void {
  dv.setUint32(at, Math.floor(n / 0x1_0000_0000));
  dv.setUint32(at + 4, n >>> 0);
}
