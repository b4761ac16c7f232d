import { rmSync } from 'node:fs';
import { encodeValue } from '@cairn/protocol';
import type { BatchOp } from './backend.js';
import { localKey, LocalKey } from './keyspace.js';
import { makeLive, otherSlot, type DefragSlots } from './defragDirs.js';
import type { RocksWriter } from './rocksWriter.js';
import type { GateOp, WriteGate } from './writeGate.js';
import { openRocks, type RocksLevelDb, type RocksMemoryOptions } from './rocksNative.js';

/**
 * Defragmentation, as etcd's defrag does it for bbolt: the live data is copied into a fresh
 * database and the fresh one replaces the old. RocksDB gives space back only when its own
 * compactions rewrite the files that hold deleted data, and the binding Cairn uses exposes no
 * CompactRange; a copy holds exactly the live rows, so it is as small as the data can be.
 *
 * Online, in four steps (writes are held only in steps 1 and 3, reads never):
 *   1. hold writes for a moment, wait for those in flight, open a point-in-time iterator over
 *      the whole database, and open the journal; writes resume (recorded in the journal);
 *   2. copy the iterator's rows into the new database, in batches, yielding between them;
 *   3. replay the journal; when little is left, hold writes again, replay the rest, write one
 *      synced row (everything before it is then durable), and make the new copy the live one
 *      (defragDirs.ts);
 *   4. switch the backend to it, let the held writes through, and close and delete the old
 *      copy once its last point-in-time reader is done.
 */

/** What a long defrag reports as it goes (at most a few times a second). */
export interface DefragProgress {
  readonly phase: 'copy' | 'catch-up' | 'switch';
  /** Rows copied so far. */
  readonly keys: number;
  /** Bytes (keys and values) copied so far. */
  readonly bytes: number;
  /** The size of the database when the defrag began, for a percentage. */
  readonly sizeBeforeBytes: number;
}

export interface DefragResult {
  /** The database's size (Backend.sizeBytes) before and after. */
  readonly sizeBeforeBytes: number;
  readonly sizeAfterBytes: number;
  readonly keys: number;
  readonly bytes: number;
  readonly ms: number;
}

/** The database being defragmented, as the backend hands it over. */
export interface DefragInput {
  readonly from: { readonly db: RocksLevelDb; readonly dir: string };
  readonly slots: DefragSlots;
  readonly memory: RocksMemoryOptions;
  readonly gate: WriteGate;
  readonly sizeBefore: number;
  readonly isClosed: () => boolean;
  readonly onProgress: ((p: DefragProgress) => void) | undefined;
  /** The new copy is live and durable: route reads and writes to it. */
  readonly switchTo: (to: { db: RocksLevelDb; writer: RocksWriter; dir: string }, copied: { keys: number; bytes: number }) => void;
  readonly sizeAfter: () => number;
}

/** Every key Cairn stores starts with a table byte below 0xff (keyspace.ts). */
const ALL = { gte: new Uint8Array([0]), lt: new Uint8Array([0xff]) };
/** Bytes per copy batch and per iterator read. */
const COPY_BATCH_BYTES = 4 * 1024 * 1024;
/** The journal is replayed in rounds while writes continue, until a round is this small. */
const FINAL_ROUND_BYTES = 1024 * 1024;
const MAX_CATCH_UP_ROUNDS = 8;
const PROGRESS_EVERY_MS = 500;

export class DefragAbortedError extends Error {
  override readonly name = 'DefragAbortedError';
}

export async function runDefrag(o: DefragInput): Promise<DefragResult> {
  const t0 = performance.now();
  const targetDir = otherSlot(o.slots, o.from.dir);
  rmSync(targetDir, { recursive: true, force: true });
  const to = await openRocks(targetDir, o.memory);
  let keys = 0;
  let bytes = 0;
  let lastReport = 0;
  const report = (phase: DefragProgress['phase'], force = false): void => {
    const now = performance.now();
    if (o.onProgress === undefined || (!force && now - lastReport < PROGRESS_EVERY_MS)) return;
    lastReport = now;
    o.onProgress({ phase, keys, bytes, sizeBeforeBytes: o.sizeBefore });
  };
  const checkOpen = (): void => {
    if (o.isClosed()) throw new DefragAbortedError('the database was closed during the defrag');
  };
  let switched = false;
  try {
    // 1. A clean cut: nothing in flight when the snapshot is taken, everything after it journaled.
    o.gate.hold();
    await o.gate.settle();
    const it = o.from.db.iterator({ ...ALL, highWaterMarkBytes: COPY_BATCH_BYTES });
    o.gate.openJournal();
    await o.gate.release();
    // 2. The bulk copy.
    try {
      for (;;) {
        checkOpen();
        const { rows, finished } = it._nextvSync(1 << 16, {});
        const ops: BatchOp[] = [];
        for (let i = 0; i + 1 < rows.length; i += 2) {
          ops.push({ type: 'put', key: rows[i]!, value: rows[i + 1]! });
          bytes += rows[i]!.length + rows[i + 1]!.length;
        }
        if (ops.length > 0) await to.writer.write(ops, false);
        keys += ops.length;
        report('copy');
        if (finished || rows.length === 0) break;
      }
    } finally {
      void it.close();
    }
    // 3. Catch up with what was written meanwhile; the last round with writes held.
    for (let round = 1; ; round++) {
      checkOpen();
      const last = o.gate.journalSize <= FINAL_ROUND_BYTES || round >= MAX_CATCH_UP_ROUNDS || o.gate.holding;
      if (last) {
        o.gate.hold();
        await o.gate.settle();
      }
      await replay(to, o.gate.takeJournal().ops);
      report(last ? 'switch' : 'catch-up', true);
      if (last) break;
    }
    o.gate.closeJournal();
    // Synced: RocksDB syncs every write-ahead log before it, so the whole copy is durable.
    await to.writer.write([{ type: 'put', key: localKey(LocalKey.LastDefrag), value: encodeValue(Date.now()) }], true);
    makeLive(o.slots, targetDir);
    // 4. Switch; the held writes go to the new copy.
    o.gate.setSink((op) => send(to, op));
    o.switchTo({ ...to, dir: targetDir }, { keys, bytes });
    switched = true;
    await o.gate.release();
  } catch (err) {
    if (!switched) {
      o.gate.closeJournal();
      await o.gate.release();
      await to.writer.close().catch(() => undefined);
      await to.db.close().catch(() => undefined);
      rmSync(targetDir, { recursive: true, force: true });
    }
    throw err;
  }
  return { sizeBeforeBytes: o.sizeBefore, sizeAfterBytes: o.sizeAfter(), keys, bytes, ms: Math.round(performance.now() - t0) };
}

function send(to: { db: RocksLevelDb; writer: RocksWriter }, op: GateOp): Promise<void> {
  if (op.kind === 'write') return to.writer.write(op.ops, op.sync);
  return to.db.clear({ gte: op.gte, lt: op.lt });
}

/** Applies journaled operations to the copy in order (a clear after the writes before it). */
async function replay(to: { db: RocksLevelDb; writer: RocksWriter }, ops: readonly GateOp[]): Promise<void> {
  let pending: Promise<void>[] = [];
  for (const op of ops) {
    if (op.kind === 'clear') {
      await Promise.all(pending);
      pending = [];
      await to.db.clear({ gte: op.gte, lt: op.lt });
    } else {
      pending.push(to.writer.write(op.ops, false));
    }
  }
  await Promise.all(pending);
}
