import { CairnError, ErrorCode, type SnapshotAck, type SnapshotResponse } from '@cairn/protocol';
import { sha256 } from './platform.js';
import type { CairnStream } from './stream.js';
import { toHex } from './wire.js';

const SHA256_BYTES = 32;

/**
 * A snapshot being downloaded (`client.maintenance.snapshot()`): iterate it for the file's
 * bytes, in order, and write them somewhere. Each piece is acknowledged once the reader asks
 * for the next, so the member sends only a few pieces ahead of the reader (memory stays small
 * on both sides however big the store). The last piece is the SHA-256 of all the bytes before
 * it; iteration checks it and throws a CairnError (`corrupt`) on a mismatch, or
 * (`connection_closed`, ...) if the stream ended before the last piece. `close()` gives up.
 *
 *   const out = createWriteStream('backup.part');
 *   for await (const bytes of client.maintenance.snapshot()) out.write(bytes);
 */
export class SnapshotDownload implements AsyncIterable<Uint8Array> {
  private readonly sha = sha256();
  private bytesSoFar = 0;
  private iterating = false;

  /** @internal Made by Maintenance.snapshot. */
  constructor(private readonly stream: CairnStream<SnapshotAck, SnapshotResponse>) {}

  /** Bytes received so far. */
  get bytes(): number {
    return this.bytesSoFar;
  }

  /** Stops the download and tells the member. */
  close(): void {
    this.stream.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterating) throw new CairnError(ErrorCode.InvalidArgument, 'a snapshot download can be read once');
    this.iterating = true;
    let expect = 1;
    let complete = false;
    try {
      for await (const m of this.stream) {
        if (m.seq !== expect) throw new CairnError(ErrorCode.Corrupt, `snapshot stream: piece ${m.seq} arrived where ${expect} was expected`);
        expect++;
        const blob = m.blob;
        if (m.last === true) {
          const want = toHex(blob);
          const got = this.sha.digestHex();
          if (blob.length !== SHA256_BYTES || want !== got) {
            throw new CairnError(ErrorCode.Corrupt, `snapshot checksum mismatch: the member sent SHA-256 ${want}, the bytes received hash to ${got}`);
          }
          complete = true;
        } else {
          this.sha.update(blob);
        }
        this.bytesSoFar += blob.length;
        yield blob;
        if (complete) return;
        // The reader took this piece: the member may send one more.
        if (!this.stream.closed) this.stream.send({ ack: m.seq });
      }
      if (!complete) throw new CairnError(ErrorCode.ConnectionClosed, `snapshot stream ended after ${this.bytesSoFar} bytes, before its checksum`);
    } finally {
      if (!complete) this.stream.close();
    }
  }
}
