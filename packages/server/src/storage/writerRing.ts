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

/** Puts one record's operations into the batch; returns their bytes. */
function add(lens, u8, at) {
  let bytes = 0;
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
  return bytes;
}

const isWrite = (kind) => kind === ${Kind.Write} || kind === ${Kind.Sent};

/*
 * The writes published one after another for one database, from the record at \`start\` on:
 * one batch and one write, fsynced if any of them asks (a synced write covers the ones before
 * it, and each record stays atomic inside the bigger batch). The fsync's seconds go to the
 * last synced record; the others get -1. Returns how many records it took and where the next
 * one starts.
 */
function writeRun(start, seen, published) {
  const dbId = ri[(start >> 2) + 2];
  const db = dbs.get(dbId);
  let at = start;
  let lastSync = -1;
  let records = 0;
  let bytes = 0;
  let error = db === undefined ? new Error('database ' + dbId + ' is not open in the writer thread') : undefined;
  for (;;) {
    const h = at >> 2;
    try {
      // A sent record's data is taken off the port even when the run already failed.
      if (ri[h] === ${Kind.Sent}) {
        const m = receiveMessageOnPort(inPort).message;
        if (error === undefined) bytes += add(m.lens, new Uint8Array(m.buf), 0);
      } else if (error === undefined) {
        const ops = ri[h + 4];
        bytes += add(ri.subarray(h + ${HEADER_BYTES / 4}, h + ${HEADER_BYTES / 4} + 2 * ops), ru, at + ${HEADER_BYTES} + 8 * ops);
      }
    } catch (err) {
      error = err;
    }
    if (ri[h + 3] === 1) lastSync = at;
    rf[(at >> 3) + 3] = -1;
    records++;
    at += ri[h + 1];
    if (at >= RING_BYTES) at = 0;
    if (((seen + records) | 0) === published || bytes > MAX_BATCH_BYTES_KEPT) break;
    const next = ri[at >> 2] === ${Kind.Wrap} ? 0 : at;
    if (!isWrite(ri[next >> 2]) || ri[(next >> 2) + 2] !== dbId) break;
    at = next;
  }
  try {
    if (error !== undefined) throw error;
    const t0 = lastSync >= 0 ? performance.now() : 0;
    binding.batch_write(db, batch, lastSync >= 0 ? SYNC : NO_SYNC);
    if (lastSync >= 0) rf[(lastSync >> 3) + 3] = (performance.now() - t0) / 1000;
  } catch (err) {
    for (let i = 1; i <= records; i++) errPort.postMessage({ seq: (seen + i) | 0, error: String((err && err.message) || err) });
  } finally {
    binding.batch_clear(batch);
    // Clear() keeps the batch's capacity: after an unusually big batch start a fresh one.
    if (bytes > MAX_BATCH_BYTES_KEPT) batch = binding.batch_init();
  }
  return { records, at };
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
    if (isWrite(kind)) {
      const run = writeRun(at, seen, published);
      at = run.at;
      seen = (seen + run.records) | 0;
    } else {
      const seq = (seen + 1) | 0;
      try {
        if (kind === ${Kind.Open}) dbs.set(ri[h + 2], binding.db_init(rb[(at >> 3) + 3]));
        else if (kind === ${Kind.Close}) dbs.delete(ri[h + 2]);
      } catch (err) {
        errPort.postMessage({ seq, error: String((err && err.message) || err) });
      }
      at += ri[h + 1];
      if (at >= RING_BYTES) at = 0;
      seen = seq;
    }
    Atomics.store(ctrl, ${DONE}, seen);
    Atomics.notify(ctrl, ${DONE});
  }
}
`;
