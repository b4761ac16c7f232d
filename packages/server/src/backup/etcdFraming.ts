import { createHash, type Hash } from 'node:crypto';
import { BLOCK_END, BLOCK_HEADER_BYTES, BLOCK_ROWS, MAX_BLOCK_BYTES, SHA256_BYTES } from './format.js';

/**
 * etcd's framing of a snapshot, as its Maintenance.Snapshot stream sends one and etcdctl saves it:
 *
 *   Cairn snapshot file (format.ts, with its own SHA-256) | zero padding | SHA-256 of all before it
 *
 * etcdctl 3.4's `snapshot save` keeps whatever the stream's blobs add up to, but refuses the
 * result unless its size modulo 512 is 32: the test etcd's tools use for "ends with a SHA-256"
 * (etcd's bbolt files are whole 4 KiB pages, so the hash alone makes it true). The padding is
 * the fewest zero bytes that make the Cairn file plus padding a multiple of 512; the final hash
 * covers the padding too, as etcd's restore checks it.
 * Worked example: a 495-byte Cairn file gets 17 zero bytes (495 + 17 = 512) and the hash of
 * those 512 bytes: 544 bytes, and 544 % 512 = 32.
 */
export const ETCD_SECTOR_BYTES = 512;

/** Zero bytes that follow a `cairnBytes`-byte Cairn file in etcd's framing (0..511). */
export function etcdPaddingBytes(cairnBytes: number): number {
  return (ETCD_SECTOR_BYTES - (cairnBytes % ETCD_SECTOR_BYTES)) % ETCD_SECTOR_BYTES;
}

/** Whether a file of `size` bytes passes etcd's "ends with a SHA-256" size test. */
export const hasEtcdTrailer = (size: number): boolean => size % ETCD_SECTOR_BYTES === SHA256_BYTES;

/**
 * Frames a Cairn snapshot stream in etcd's framing as it passes: `frame` each blob in order,
 * the last with `last` (the one that ends with the Cairn file's own SHA-256); the last comes
 * back with the padding and the outer SHA-256 appended. Keeps only a running hash.
 */
export class EtcdFramer {
  private readonly sha: Hash = createHash('sha256');
  private cairnBytes = 0;

  /** Call it once per blob, in stream order; nothing after the `last` one. */
  frame(blob: Uint8Array, last: boolean): Uint8Array {
    this.sha.update(blob);
    this.cairnBytes += blob.length;
    if (!last) return blob;
    const pad = etcdPaddingBytes(this.cairnBytes);
    const out = new Uint8Array(blob.length + pad + SHA256_BYTES);
    out.set(blob, 0);
    // out is zero-filled: the padding is already there.
    this.sha.update(out.subarray(blob.length, blob.length + pad));
    out.set(this.sha.digest(), blob.length + pad);
    return out;
  }
}

/**
 * Where the blocks of a Cairn file end (the offset just after its end block), walking only the
 * block headers from `firstBlock`; undefined if the walk meets anything but rows blocks and an
 * end block within `limit`. Says nothing about the contents: `SnapshotFile.rows` checks those.
 */
export function endOfBlocks(read: (at: number, length: number) => Uint8Array, firstBlock: number, limit: number): number | undefined {
  for (let at = firstBlock; at + BLOCK_HEADER_BYTES <= limit; ) {
    const bh = read(at, BLOCK_HEADER_BYTES);
    const len = new DataView(bh.buffer, bh.byteOffset, bh.byteLength).getUint32(1);
    const next = at + BLOCK_HEADER_BYTES + len;
    if (len > MAX_BLOCK_BYTES || next > limit) return undefined;
    if (bh[0] === BLOCK_END) return next;
    if (bh[0] !== BLOCK_ROWS) return undefined;
    at = next;
  }
  return undefined;
}
