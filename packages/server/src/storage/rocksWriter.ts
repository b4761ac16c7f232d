import { Worker } from 'node:worker_threads';
import type { BatchOp } from './backend.js';

/**
 * RocksDB writes on a thread of their own.
 *
 * `@nxtedition/rocksdb` writes a batch synchronously on the calling thread (fsync included), and
 * its `batch()` allocates a native WriteBatch per call that is freed only when V8 collects a
 * tiny handle: under steady writes the process's native memory grew by gigabytes (see
 * docs/benchmarks.md, "Storage binding"). Here one worker thread opens the same native database
 * by its handle and applies every batch, in order, into one reused WriteBatch. The main thread
 * packs each batch into one ArrayBuffer, transfers it (no copy) and gets it back with the
 * reply, so steady writes allocate nothing new on either side.
 */

/** Buffers are reused up to this size; a bigger batch gets a one-off buffer. */
const MAX_POOLED_BUFFER_BYTES = 8 * 1024 * 1024;
const MIN_BUFFER_BYTES = 64 * 1024;
/** Free buffers kept for reuse (one per write in flight is enough). */
const MAX_POOLED_BUFFERS = 8;

interface WriteRequest {
  readonly id: number;
  readonly sync: boolean;
  readonly buf: ArrayBuffer;
  /** Per op: key length, then value length or -1 for a delete. */
  readonly lens: Int32Array;
}
interface WriteReply {
  readonly id: number;
  readonly error: string | undefined;
  readonly buf: ArrayBuffer;
}

/**
 * The worker's code, run with `eval` so that it loads the same way from the TypeScript sources
 * (tests) and from the built package. It needs only the binding, whose path it is given.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const binding = require(workerData.bindingPath);
const db = binding.db_init(workerData.handle);
const MAX_BATCH_BYTES_KEPT = ${MAX_POOLED_BUFFER_BYTES};
const EMPTY = {};
const SYNC = { sync: true };
const NO_SYNC = { sync: false };
let batch = binding.batch_init();
parentPort.on('message', (m) => {
  let error;
  let bytes = 0;
  try {
    const u8 = new Uint8Array(m.buf);
    const lens = m.lens;
    let at = 0;
    for (let i = 0; i < lens.length; i += 2) {
      const kl = lens[i];
      const vl = lens[i + 1];
      const key = u8.subarray(at, at + kl);
      at += kl;
      if (vl < 0) {
        binding.batch_del(batch, key, EMPTY);
      } else {
        binding.batch_put(batch, key, u8.subarray(at, at + vl), EMPTY);
        at += vl;
      }
    }
    bytes = at;
    binding.batch_write(db, batch, m.sync ? SYNC : NO_SYNC);
  } catch (err) {
    error = String((err && err.message) || err);
  } finally {
    binding.batch_clear(batch);
    // Clear() keeps the batch's capacity: after an unusually big batch start a fresh one.
    if (bytes > MAX_BATCH_BYTES_KEPT) batch = binding.batch_init();
  }
  parentPort.postMessage({ id: m.id, error, buf: m.buf }, [m.buf]);
});
`;

export class RocksWriter {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly free: ArrayBuffer[] = [];
  /** Set once the worker has stopped; every later write fails with it. */
  private failed: Error | undefined;
  private closing = false;
  /** Called when the last write in flight settles (close waits on it). */
  private drained: (() => void) | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (r: WriteReply) => this.onReply(r));
    worker.on('error', (err) => this.fail(new Error(`rocksdb writer thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`rocksdb writer thread exited with code ${code}`));
    });
    worker.unref();
  }

  /** Starts the writer thread on the open database `handle` (RocksLevel's `handle`). */
  static async start(handle: bigint, bindingPath: string): Promise<RocksWriter> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { handle, bindingPath } });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    return new RocksWriter(worker);
  }

  write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.closing) return Promise.reject(new Error('rocksdb backend is closed'));
    let bytes = 0;
    for (const op of ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    const buf = this.takeBuffer(bytes);
    const u8 = new Uint8Array(buf);
    const lens = new Int32Array(ops.length * 2);
    let at = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      u8.set(op.key, at);
      at += op.key.length;
      lens[2 * i] = op.key.length;
      if (op.type === 'put') {
        u8.set(op.value, at);
        at += op.value.length;
        lens[2 * i + 1] = op.value.length;
      } else {
        lens[2 * i + 1] = -1;
      }
    }
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    const req: WriteRequest = { id, sync, buf, lens };
    this.worker.postMessage(req, [buf, lens.buffer]);
    return done;
  }

  /** Waits for the writes in flight, then stops the thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.worker.terminate();
  }

  private takeBuffer(bytes: number): ArrayBuffer {
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.byteLength >= bytes) {
        this.free.splice(i, 1);
        return b;
      }
    }
    if (bytes > MAX_POOLED_BUFFER_BYTES) return new ArrayBuffer(bytes);
    let size = MIN_BUFFER_BYTES;
    while (size < bytes) size *= 2;
    return new ArrayBuffer(size);
  }

  private onReply(r: WriteReply): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    this.recycle(r.buf);
    if (p !== undefined) {
      if (r.error === undefined) p.resolve();
      else p.reject(new Error(`rocksdb write failed: ${r.error}`));
    }
    if (this.pending.size === 0) this.settled();
  }

  /** Keeps a returned buffer for reuse; a full pool keeps its biggest buffers. */
  private recycle(buf: ArrayBuffer): void {
    if (buf.byteLength > MAX_POOLED_BUFFER_BYTES) return;
    if (this.free.length < MAX_POOLED_BUFFERS) {
      this.free.push(buf);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]!.byteLength < this.free[smallest]!.byteLength) smallest = i;
    if (this.free[smallest]!.byteLength < buf.byteLength) this.free[smallest] = buf;
  }

  private settled(): void {
    this.worker.unref();
    const d = this.drained;
    this.drained = undefined;
    d?.();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.settled();
  }
}
