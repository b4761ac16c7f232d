import { decodeValue } from '@cairn/protocol';
import type { Backend } from '../storage/backend.js';
import { MetaKey, TABLE_HISTORY, TABLE_META, metaKey, parseHistoryKey } from '../storage/keyspace.js';
import { stateChunks } from '../raftNode/snapshot.js';
import { SnapshotHasher, encodeEndBlock, encodePreamble, encodeRowsBlock, type SnapshotHeader } from './format.js';

/** The next piece of a snapshot file, and whether it is the last (the SHA-256 trailer). */
export interface SnapshotPiece {
  readonly bytes: Uint8Array;
  readonly last: boolean;
}

/** Produces a snapshot file of `backend`'s state tables piece by piece (format.ts). */
export interface SnapshotSource {
  /** The next piece, or undefined after the last. Synchronous: one chunk of rows per call. */
  next(): SnapshotPiece | undefined;
  /** Releases the point-in-time view (call it whether or not the end was reached). */
  close(): void;
  /** Bytes produced so far. */
  readonly bytes: number;
  /** Rows produced so far. */
  readonly rows: number;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const REVISION_KEY = metaKey(MetaKey.Revision);
const COMPACT_KEY = metaKey(MetaKey.CompactRevision);
const APPLIED_KEY = metaKey(MetaKey.AppliedIndex);

const asBig = (raw: Uint8Array): bigint => {
  const v = decodeValue(raw);
  return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : 0n;
};

/**
 * A snapshot of the state tables as they are now: the view is taken when this is called (one
 * RocksDB iterator's implicit snapshot, see Backend.reader), so writes that land while the file
 * streams are not in it. The caller makes sure what it must contain is written first.
 */
export function snapshotSource(backend: Backend, header: SnapshotHeader): SnapshotSource {
  const chunks = stateChunks(backend);
  const hasher = new SnapshotHasher();
  let started = false;
  let rowsDone = false;
  let finished = false;
  let closed = false;
  let rows = 0;
  let historyRecords = 0;
  let lastMain = 0n;
  let metaRevision = 0n;
  let compactRevision = 0n;
  let appliedIndex = 0n;
  const close = (): void => {
    if (closed) return;
    closed = true;
    chunks.close();
  };
  const observe = (k: Uint8Array, v: Uint8Array): void => {
    if (k[0] === TABLE_HISTORY) {
      historyRecords++;
      lastMain = BigInt(parseHistoryKey(k).main);
    } else if (k[0] === TABLE_META) {
      if (sameBytes(k, REVISION_KEY)) metaRevision = asBig(v);
      else if (sameBytes(k, COMPACT_KEY)) compactRevision = asBig(v);
      else if (sameBytes(k, APPLIED_KEY)) appliedIndex = asBig(v);
    }
  };
  return {
    get bytes() {
      return hasher.bytes;
    },
    get rows() {
      return rows;
    },
    close,
    next: () => {
      if (finished) return undefined;
      if (!started) {
        started = true;
        return { bytes: hasher.push(encodePreamble(header)), last: false };
      }
      if (!rowsDone) {
        const chunk = chunks.next();
        if (chunk !== undefined) {
          for (let i = 0; i + 1 < chunk.length; i += 2) observe(chunk[i]!, chunk[i + 1]!);
          rows += chunk.length / 2;
          return { bytes: hasher.push(encodeRowsBlock(chunk)), last: false };
        }
        rowsDone = true;
        close();
        // As MvccStore.load computes it: the meta revision, unless history goes further.
        const revision = lastMain > metaRevision ? lastMain : metaRevision;
        return { bytes: hasher.push(encodeEndBlock({ rows, revision: revision > 0n ? revision : 1n, compactRevision, appliedIndex, historyRecords })), last: false };
      }
      finished = true;
      return { bytes: hasher.finish(), last: true };
    },
  };
}
