import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { isStateKey } from '../storage/keyspace.js';
import {
  BLOCK_END,
  BLOCK_HEADER_BYTES,
  BLOCK_ROWS,
  MAX_BLOCK_BYTES,
  MAX_HEADER_BYTES,
  PREAMBLE_BYTES,
  SHA256_BYTES,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  SnapshotFileError,
  SnapshotProblem,
  decodeHeader,
  decodeSummary,
  type SnapshotHeader,
  type SnapshotSummary,
} from './format.js';
import { endOfBlocks, etcdPaddingBytes, hasEtcdTrailer } from './etcdFraming.js';

/** `cairn`: a file as `cairnctl snapshot save` writes it; `etcd`: one in etcd's framing, as `etcdctl snapshot save` writes it. */
export type SnapshotFraming = 'cairn' | 'etcd';

/** Bytes read per call while hashing. */
const READ_CHUNK_BYTES = 1 << 20;

/**
 * A snapshot file opened for reading (format.ts), plain or in etcd's framing (etcdFraming.ts).
 * `open` checks the preamble and the SHA-256 trailer, and in etcd's framing the padding and the
 * inner file's SHA-256 too (one pass over the file), so `rows` reads data already known to be
 * what was saved; `rows` then checks the structure and the end block. Memory: one block at a time.
 */
export class SnapshotFile {
  private summaryValue: SnapshotSummary | undefined;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    /** Bytes of the whole file. */
    readonly size: number,
    readonly header: SnapshotHeader,
    /** Offset of the first block. */
    private readonly firstBlock: number,
    /** Offset where the blocks must end: the Cairn file's own SHA-256 starts there. */
    private readonly dataEnd: number,
    /** The SHA-256 the file ends with (hex), checked. */
    readonly sha256: string,
    /** Whether the Cairn file is all there is, or is wrapped in etcd's framing (etcdFraming.ts). */
    readonly framing: SnapshotFraming,
  ) {}

  /** Opens and verifies `path`; throws SnapshotFileError naming the problem. */
  static open(path: string): SnapshotFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new Error(`cannot open snapshot ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return SnapshotFile.check(path, fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private static check(path: string, fd: number): SnapshotFile {
    const size = fstatSync(fd).size;
    if (size < PREAMBLE_BYTES + BLOCK_HEADER_BYTES + SHA256_BYTES) {
      throw new SnapshotFileError(SnapshotProblem.TooShort, `${path}: ${size} bytes is too short for a Cairn snapshot`);
    }
    const pre = readAt(fd, 0, PREAMBLE_BYTES);
    for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) {
      if (pre[i] !== SNAPSHOT_MAGIC[i]) throw new SnapshotFileError(SnapshotProblem.BadMagic, `${path}: not a Cairn snapshot (it does not start with CAIRNSNP)`);
    }
    const dv = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
    const version = dv.getUint32(SNAPSHOT_MAGIC.length);
    if (version !== SNAPSHOT_FORMAT_VERSION) {
      throw new SnapshotFileError(SnapshotProblem.UnsupportedVersion, `${path}: snapshot format version ${version}; this tool reads version ${SNAPSHOT_FORMAT_VERSION}`);
    }
    const bodyBytes = size - SHA256_BYTES;
    const headerLen = dv.getUint32(SNAPSHOT_MAGIC.length + 4);
    // In etcd's framing (etcdFraming.ts) the Cairn file's blocks end before its own checksum,
    // the padding and the outer checksum; in a plain file, right before the one checksum.
    const read = (at: number, n: number): Uint8Array => readAt(fd, at, n);
    const blocksEnd = hasEtcdTrailer(size) && headerLen <= MAX_HEADER_BYTES ? endOfBlocks(read, PREAMBLE_BYTES + headerLen, bodyBytes) : undefined;
    const framedEnd = blocksEnd !== undefined && blocksEnd + SHA256_BYTES <= bodyBytes ? blocksEnd : undefined;
    // The checksum first: a damaged byte anywhere is reported as what it is. One pass; in the
    // etcd framing the inner file's hash is the running hash at the end of its blocks.
    const sha = createHash('sha256');
    hashRange(fd, sha, 0, framedEnd ?? bodyBytes);
    const innerGot = framedEnd !== undefined ? sha.copy().digest('hex') : undefined;
    if (framedEnd !== undefined) hashRange(fd, sha, framedEnd, bodyBytes);
    const want = Buffer.from(readAt(fd, bodyBytes, SHA256_BYTES)).toString('hex');
    const got = sha.digest('hex');
    if (want !== got) {
      throw new SnapshotFileError(SnapshotProblem.ChecksumMismatch, `${path}: SHA-256 mismatch (the file says ${want}, its contents hash to ${got}): the file is damaged or incomplete`);
    }
    let dataEnd = bodyBytes;
    let framing: SnapshotFraming = 'cairn';
    if (framedEnd !== undefined && innerGot !== undefined) {
      const cairnEnd = framedEnd + SHA256_BYTES;
      const pad = bodyBytes - cairnEnd;
      // Anything else after the end block is left for `rows` to report as trailing data.
      if (pad === etcdPaddingBytes(cairnEnd)) {
        if (!readAt(fd, cairnEnd, pad).every((b) => b === 0)) {
          throw new SnapshotFileError(SnapshotProblem.TrailingData, `${path}: the ${pad} bytes between the Cairn snapshot (which ends at offset ${cairnEnd}) and etcd's SHA-256 are not zero padding`);
        }
        const innerWant = Buffer.from(readAt(fd, framedEnd, SHA256_BYTES)).toString('hex');
        if (innerWant !== innerGot) {
          throw new SnapshotFileError(SnapshotProblem.ChecksumMismatch, `${path}: SHA-256 mismatch in the Cairn snapshot inside etcd's framing (it says ${innerWant}, bytes 0-${framedEnd} hash to ${innerGot}): it was damaged before it was sent`);
        }
        dataEnd = framedEnd;
        framing = 'etcd';
      }
    }
    if (headerLen > MAX_HEADER_BYTES || PREAMBLE_BYTES + headerLen > bodyBytes) {
      throw new SnapshotFileError(SnapshotProblem.BadHeader, `${path}: header length ${headerLen} does not fit the file`);
    }
    const header = decodeHeader(readAt(fd, PREAMBLE_BYTES, headerLen), path);
    return new SnapshotFile(path, fd, size, header, PREAMBLE_BYTES + headerLen, dataEnd, want, framing);
  }

  /** The end block, once `rows` has been read to the end. */
  get summary(): SnapshotSummary {
    if (this.summaryValue === undefined) throw new Error('the snapshot has not been read to its end yet');
    return this.summaryValue;
  }

  /**
   * Every row, in file order, as [key, value]; then checks the end block. Throws
   * SnapshotFileError on a malformed block or row, or an end block that disagrees.
   */
  *rows(): Generator<readonly [Uint8Array, Uint8Array]> {
    const end = this.dataEnd;
    let at = this.firstBlock;
    let rows = 0;
    for (;;) {
      if (at + BLOCK_HEADER_BYTES > end) throw new SnapshotFileError(SnapshotProblem.MissingEnd, `${this.path}: no end block (the data stops at offset ${at})`);
      const bh = readAt(this.fd, at, BLOCK_HEADER_BYTES);
      const type = bh[0];
      const len = new DataView(bh.buffer, bh.byteOffset, bh.byteLength).getUint32(1);
      if (len > MAX_BLOCK_BYTES) throw new SnapshotFileError(SnapshotProblem.BadBlock, `${this.path}: block at offset ${at} claims ${len} bytes (at most ${MAX_BLOCK_BYTES})`);
      if (at + BLOCK_HEADER_BYTES + len > end) throw new SnapshotFileError(SnapshotProblem.Truncated, `${this.path}: block at offset ${at} runs past the end of the data`);
      const payload = readAt(this.fd, at + BLOCK_HEADER_BYTES, len);
      if (type === BLOCK_END) {
        const s = decodeSummary(payload, this.path, at);
        const after = at + BLOCK_HEADER_BYTES + len;
        if (after !== end) throw new SnapshotFileError(SnapshotProblem.TrailingData, `${this.path}: ${end - after} bytes after the end block`);
        if (s.rows !== rows) throw new SnapshotFileError(SnapshotProblem.SummaryMismatch, `${this.path}: the end block counts ${s.rows} rows, the file holds ${rows}`);
        this.summaryValue = s;
        return;
      }
      if (type !== BLOCK_ROWS) throw new SnapshotFileError(SnapshotProblem.BadBlock, `${this.path}: unknown block type ${type} at offset ${at}`);
      for (const row of parseRows(payload, this.path, at)) {
        rows++;
        yield row;
      }
      at += BLOCK_HEADER_BYTES + len;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

function parseRows(p: Uint8Array, file: string, blockAt: number): (readonly [Uint8Array, Uint8Array])[] {
  const bad = (what: string): SnapshotFileError => new SnapshotFileError(SnapshotProblem.BadRow, `${file}: block at offset ${blockAt}: ${what}`);
  if (p.length < 4) throw bad('no row count');
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const count = dv.getUint32(0);
  const out: (readonly [Uint8Array, Uint8Array])[] = [];
  let at = 4;
  const field = (): Uint8Array => {
    if (at + 4 > p.length) throw bad(`row ${out.length} is cut off`);
    const n = dv.getUint32(at);
    if (at + 4 + n > p.length) throw bad(`row ${out.length} is cut off`);
    const b = p.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return b;
  };
  for (let i = 0; i < count; i++) {
    const k = field();
    const v = field();
    if (!isStateKey(k)) throw bad(`row ${i} has a key outside the state tables (first byte 0x${(k[0] ?? 0).toString(16)})`);
    out.push([k, v]);
  }
  if (at !== p.length) throw bad(`${p.length - at} bytes after its ${count} rows`);
  return out;
}

function hashRange(fd: number, sha: Hash, from: number, to: number): void {
  for (let at = from; at < to; ) {
    const n = Math.min(READ_CHUNK_BYTES, to - at);
    sha.update(readAt(fd, at, n));
    at += n;
  }
}

function readAt(fd: number, position: number, length: number): Uint8Array {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  if (got < length) throw new SnapshotFileError(SnapshotProblem.Truncated, `file ended at offset ${position + got}, ${length - got} bytes early`);
  return new Uint8Array(buf.buffer, buf.byteOffset, length);
}
