/*
 * The shared-memory ring between the main thread and the RocksDB writer thread
 * (rocksWriter.ts): its record layout, and the thread's own code.
 */

/** Bytes of the shared ring. A batch up to a quarter of it is copied in; a bigger one is sent. */
export const RING_BYTES = 8 * 1024 * 1024;
export const MAX_RECORD_IN_RING = RING_BYTES / 4;
/**
 * Record header: kind, bytes, dbId, sync, ops, data bytes, then a 64-bit slot: the handle (open),
 * or for a synced write the seconds the thread spent in it, written back once it is done.
 */
export const HEADER_BYTES = 32;

export enum Kind {
  Write = 1,
  /** A write whose lengths and bytes come over the port. */
  Sent = 2,
  Open = 3,
  Close = 4,
  /** The rest of the ring is unused: the next record is at offset 0. */
  Wrap = 5,
}
/** Indices in the control array: records published by the main thread, records done by the thread. */
export const PUBLISHED = 0;
export const DONE = 1;

/**
 * The thread's code, run with `eval` so that it loads the same way from the TypeScript sources
 * (tests) and from the built package. It needs only the binding, whose path it is given.
 */
export const WORKER_SOURCE = `
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const binding = require(workerData.bindingPath);
const ctrl = new Int32Array(workerData.ctrl);
const ring = workerData.ring;
const ri = new Int32Array(ring);
const ru = new Uint8Array(ring);
const rb = new BigInt64Array(ring);
const rf = new Float64Array(ring);
const inPort = workerData.inPort;
const errPort = workerData.errPort;
const RING_BYTES = ${RING_BYTES};
const MAX_BATCH_BYTES_KEPT = ${MAX_RECORD_IN_RING};
const EMPTY = {};
const SYNC = { sync: true };
const NO_SYNC = { sync: false };
const dbs = new Map();
let batch = binding.batch_init();

function write(db, sync, lens, u8, at) {
  let bytes = 0;
  try {
    for (let i = 0; i < lens.length; i += 2) {
      const kl = lens[i];
      const vl = lens[i + 1];
      const key = u8.subarray(at, at + kl);
      at += kl;
      bytes += kl;
      if (vl < 0) {
        binding.batch_del(batch, key, EMPTY);
      } else {
        binding.batch_put(batch, key, u8.subarray(at, at + vl), EMPTY);
        at += vl;
        bytes += vl;
      }
    }
    const t0 = sync ? performance.now() : 0;
    binding.batch_write(db, batch, sync ? SYNC : NO_SYNC);
    if (sync) return (performance.now() - t0) / 1000;
    return 0;
  } finally {
    binding.batch_clear(batch);
    // Clear() keeps the batch's capacity: after an unusually big batch start a fresh one.
    if (bytes > MAX_BATCH_BYTES_KEPT) batch = binding.batch_init();
  }
}

let seen = 0;
let at = 0;
for (;;) {
  Atomics.wait(ctrl, ${PUBLISHED}, seen);
  const published = Atomics.load(ctrl, ${PUBLISHED});
  while (seen !== published) {
    if (ri[at >> 2] === ${Kind.Wrap}) at = 0;
    const h = at >> 2;
    const kind = ri[h];
    const total = ri[h + 1];
    const dbId = ri[h + 2];
    const seq = (seen + 1) | 0;
    try {
      if (kind === ${Kind.Open}) dbs.set(dbId, binding.db_init(rb[(at >> 3) + 3]));
      else if (kind === ${Kind.Close}) dbs.delete(dbId);
      else {
        const db = dbs.get(dbId);
        const sync = ri[h + 3] === 1;
        if (kind === ${Kind.Sent}) {
          const m = receiveMessageOnPort(inPort).message;
          if (db === undefined) throw new Error('database ' + dbId + ' is not open in the writer thread');
          rf[(at >> 3) + 3] = write(db, sync, m.lens, new Uint8Array(m.buf), 0);
        } else {
          if (db === undefined) throw new Error('database ' + dbId + ' is not open in the writer thread');
          const ops = ri[h + 4];
          const lens = ri.subarray(h + ${HEADER_BYTES / 4}, h + ${HEADER_BYTES / 4} + 2 * ops);
          rf[(at >> 3) + 3] = write(db, sync, lens, ru, at + ${HEADER_BYTES} + 8 * ops);
        }
      }
    } catch (err) {
      errPort.postMessage({ seq, error: String((err && err.message) || err) });
    }
    at += total;
    if (at >= RING_BYTES) at = 0;
    seen = seq;
    Atomics.store(ctrl, ${DONE}, seen);
    Atomics.notify(ctrl, ${DONE});
  }
}
`;
