import { Worker } from 'node:worker_threads';
import type { BatchOp } from './backend.js';

/**
 * RocksDB writes on a thread of their own (one per process, shared by every open database).
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
const MAX_POOLED_BUFFER_BYTES = 4 * 1024 * 1024;
const MIN_BUFFER_BYTES = 64 * 1024;
/** Free buffers kept for reuse (the driver has at most a few writes in flight). */
const MAX_POOLED_BUFFERS = 4;

type ToWorker =
  | { readonly t: 'open'; readonly dbId: number; readonly handle: bigint }
  | { readonly t: 'close'; readonly dbId: number }
  | {
      readonly t: 'write';
      readonly id: number;
      readonly dbId: number;
      readonly sync: boolean;
      readonly buf: ArrayBuffer;
      /** Per op: key length, then value length or -1 for a delete. */
      readonly lens: Int32Array;
    };
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
const MAX_BATCH_BYTES_KEPT = ${MAX_POOLED_BUFFER_BYTES};
const EMPTY = {};
const SYNC = { sync: true };
const NO_SYNC = { sync: false };
const dbs = new Map();
let batch = binding.batch_init();
parentPort.on('message', (m) => {
  if (m.t === 'open') {
    dbs.set(m.dbId, binding.db_init(m.handle));
    return;
  }
  if (m.t === 'close') {
    dbs.delete(m.dbId);
    return;
  }
  let error;
  let bytes = 0;
  try {
    const db = dbs.get(m.dbId);
    if (db === undefined) throw new Error('database ' + m.dbId + ' is not open in the writer thread');
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

interface Pending {
  readonly dbId: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** The process's writer thread. */
class WriterThread {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Writes in flight per database, and who waits for them to drain. */
  private readonly inFlight = new Map<number, number>();
  private readonly drained = new Map<number, () => void>();
  private readonly free: ArrayBuffer[] = [];
  /** Set once the thread has stopped; every later write fails with it. */
  failed: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (r: WriteReply) => this.onReply(r));
    worker.on('error', (err) => this.fail(new Error(`rocksdb writer thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.fail(new Error(`rocksdb writer thread exited with code ${code}`)));
    worker.unref();
  }

  static async start(bindingPath: string): Promise<WriterThread> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bindingPath } });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    return new WriterThread(worker);
  }

  open(dbId: number, handle: bigint): void {
    this.post({ t: 'open', dbId, handle });
  }

  close(dbId: number): void {
    this.post({ t: 'close', dbId });
  }

  write(dbId: number, ops: readonly BatchOp[], sync: boolean): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
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
    const done = new Promise<void>((resolve, reject) => this.pending.set(id, { dbId, resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    this.inFlight.set(dbId, (this.inFlight.get(dbId) ?? 0) + 1);
    this.post({ t: 'write', id, dbId, sync, buf, lens }, [buf, lens.buffer]);
    return done;
  }

  /** Resolves once no write of `dbId` is in flight. */
  async drain(dbId: number): Promise<void> {
    if ((this.inFlight.get(dbId) ?? 0) === 0) return;
    await new Promise<void>((resolve) => this.drained.set(dbId, resolve));
  }

  private post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this.failed === undefined) this.worker.postMessage(m, transfer);
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

  private onReply(r: WriteReply): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    this.recycle(r.buf);
    if (p === undefined) return;
    if (r.error === undefined) p.resolve();
    else p.reject(new Error(`rocksdb write failed: ${r.error}`));
    this.settled(p.dbId);
  }

  private settled(dbId: number): void {
    const left = (this.inFlight.get(dbId) ?? 1) - 1;
    if (left > 0) this.inFlight.set(dbId, left);
    else {
      this.inFlight.delete(dbId);
      const d = this.drained.get(dbId);
      this.drained.delete(dbId);
      d?.();
    }
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    if (thread === this) threadStart = undefined;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      p.reject(err);
      this.settled(p.dbId);
    }
  }
}

let threadStart: Promise<WriterThread> | undefined;
let thread: WriterThread | undefined;
let nextDbId = 1;

/** The writes of one open database, through the process's writer thread. */
export class RocksWriter {
  private closing = false;

  private constructor(
    private readonly thread: WriterThread,
    private readonly dbId: number,
  ) {}

  /** Registers the open database `handle` (RocksLevel's `handle`) with the writer thread. */
  static async start(handle: bigint, bindingPath: string): Promise<RocksWriter> {
    if (threadStart === undefined) {
      const starting = WriterThread.start(bindingPath);
      threadStart = starting;
      starting.then(
        (t) => (thread = t),
        () => {
          if (threadStart === starting) threadStart = undefined;
        },
      );
    }
    const t = await threadStart;
    const dbId = nextDbId++;
    t.open(dbId, handle);
    return new RocksWriter(t, dbId);
  }

  write(ops: readonly BatchOp[], sync: boolean): Promise<void> {
    if (this.closing) return Promise.reject(new Error('rocksdb backend is closed'));
    return this.thread.write(this.dbId, ops, sync);
  }

  /** Waits for this database's writes in flight, then forgets it in the writer thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.thread.drain(this.dbId);
    this.thread.close(this.dbId);
  }
}
