import { CairnError, decodeValue, encodeValue, ErrorCode } from '@cairn/protocol';
import type { SnapshotMetadata } from '@cairn/raft';
import type { Backend, BackendReader, BatchOp } from '../storage/backend.js';
import { MetaKey, STATE_TABLES, TABLE_RAFT, TABLE_STAGING, isStateKey, metaKey, tableRange } from '../storage/keyspace.js';
import { decodeConfState } from '../apply/membership.js';
import { invariant } from '../mvcc/revision.js';

/**
 * State-machine snapshots, streamed instead of materialised. The leader streams its live
 * state tables from one RocksDB point-in-time view; the follower stages them under table 'z',
 * then swaps them in. The state carries its own position (meta appliedIndex, appliedTerm,
 * confState), so the staged data says which raft snapshot it is.
 *
 * Install is crash-safe by being repeatable: a marker ('r' 'I', with the metadata) is written
 * first; then the state tables are cleared and the staged rows copied in; the last write
 * rebases the raft log and removes the marker. A member that restarts with the marker set
 * runs the copy again from the staged rows, which stay until the marker is gone.
 */

/** Rows per chunk, and their rough byte budget. */
const CHUNK_ROWS = 4096;
const CHUNK_BYTES = 1 << 20;

export const INSTALL_MARKER_KEY = new Uint8Array([TABLE_RAFT, 0x49]); // 'r' 'I'
const STAGING = tableRange(TABLE_STAGING);

/** The chunk source for `sendSnapshot`: state rows only, from one consistent view. */
export function stateChunks(backend: Backend): { next: () => Uint8Array[] | undefined; close: () => void } {
  const first = STATE_TABLES[0]!;
  const last = STATE_TABLES[STATE_TABLES.length - 1]!;
  const reader: BackendReader = backend.reader({ gte: new Uint8Array([first]), lt: new Uint8Array([last + 1]) });
  let done = false;
  return {
    next: () => {
      if (done) return undefined;
      const out: Uint8Array[] = [];
      let bytes = 0;
      while (out.length < 2 * CHUNK_ROWS && bytes < CHUNK_BYTES) {
        const rows = reader.next(256);
        if (rows.length === 0) {
          done = true;
          break;
        }
        for (const [k, v] of rows) {
          if (!isStateKey(k)) {
            // A member-local table sits between two state tables: jump over it.
            reader.seek(new Uint8Array([k[0]! + 1]));
            break;
          }
          out.push(k, v);
          bytes += k.length + v.length;
        }
      }
      return out.length === 0 && done ? undefined : out;
    },
    close: () => reader.close(),
  };
}

function staged(key: Uint8Array): Uint8Array {
  const k = new Uint8Array(key.length + 1);
  k[0] = TABLE_STAGING;
  k.set(key, 1);
  return k;
}

/** Stages one chunk of a leader's rows. */
export function stageOps(rows: readonly Uint8Array[]): BatchOp[] {
  const ops: BatchOp[] = [];
  for (let i = 0; i + 1 < rows.length; i += 2) {
    const k = rows[i]!;
    if (!isStateKey(k)) throw new CairnError(ErrorCode.InvalidArgument, 'snapshot row outside the state tables');
    ops.push({ type: 'put', key: staged(k), value: rows[i + 1]! });
  }
  return ops;
}

export function clearStaging(backend: Backend): Promise<void> {
  return backend.clear(STAGING);
}

/** The raft snapshot the staged rows make up (from their own meta). */
export function stagedMetadata(backend: Backend): SnapshotMetadata {
  const get = (name: MetaKey): unknown => {
    const raw = backend.get(staged(metaKey(name)));
    if (raw === undefined) throw new CairnError(ErrorCode.Corrupt, `snapshot lacks meta ${name}`);
    return decodeValue(raw);
  };
  const index = Number(get(MetaKey.AppliedIndex) as bigint);
  const term = Number(get(MetaKey.AppliedTerm) as number);
  const confState = decodeConfState(get(MetaKey.ConfState) as { voters?: unknown; learners?: unknown });
  invariant(index > 0 && term > 0, 'snapshot at index 0');
  return { index, term, confState };
}

export function installMarkerOps(meta: SnapshotMetadata): BatchOp[] {
  return [{ type: 'put', key: INSTALL_MARKER_KEY, value: encodeValue({ index: meta.index }) }];
}

/**
 * Replaces the state tables with the staged rows (no sync: the caller's final synced write
 * makes it durable). No other write may be in flight.
 */
export async function copyStaged(backend: Backend): Promise<number> {
  for (const t of STATE_TABLES) await backend.clear(tableRange(t));
  const reader = backend.reader(STAGING);
  let rows = 0;
  try {
    for (;;) {
      const chunk = reader.next(CHUNK_ROWS);
      if (chunk.length === 0) break;
      await backend.write(
        chunk.map(([k, v]) => ({ type: 'put', key: k.subarray(1), value: v })),
        { sync: false },
      );
      rows += chunk.length;
    }
  } finally {
    reader.close();
  }
  return rows;
}
