import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { BatchOp } from './backend.js';
import { DONE, HEADER_BYTES, Kind, MAX_RECORD_IN_RING, PUBLISHED, RING_BYTES, WORKER_SOURCE } from './writerRing.js';

/**
 * RocksDB writes on a thread of their own (one per process, shared by every open database).
 *
 * `@nxtedition/rocksdb` writes a batch synchronously on the calling thread (fsync included), and
 * its `batch()` allocates a native WriteBatch per call that is freed only when V8 collects a
 * tiny handle: under steady writes the process's native memory grew by gigabytes (see
 * docs/benchmarks.md, "Storage binding"). Here one worker thread opens the same native database
 * by its handle and applies every batch, in order, into one reused WriteBatch.
 *
 * The hand-over is a ring in shared memory, not a message per write: the main thread copies a
 * batch's keys and values straight into the ring, publishes it by bumping a counter, and wakes
 * the thread with `Atomics.notify`; the thread bumps another counter when a record is written,
 * which resolves `Atomics.waitAsync` on the main thread. A postMessage round trip cost the main
 * thread ~55-120 µs per write on this project's machines; this costs ~20. A batch too big for
 * the ring travels over a MessagePort instead (its record in the ring keeps the order), and
 * writes wait in memory, in order, while the ring is full.
 */

interface Pending {
  readonly dbId: number;
  /** Where its record starts in the ring (its header holds the seconds of a synced write). */
  readonly at: number;
  readonly onSynced: ((seconds: number) => void) | undefined;
  /** Ring bytes the record holds (a wrap's skipped tail included), freed once it is done. */
  readonly bytes: number;
  readonly resolve: (() => void) | undefined;
  readonly reject: ((err: Error) => void) | undefined;
}

/** A record waiting for room in the ring: a write, or a database opened or closed. */
type Backlogged =
  | {
      readonly kind: Kind.Write;
      readonly dbId: number;
      readonly ops: readonly BatchOp[];
      readonly sync: boolean;
      readonly onSynced: ((seconds: number) => void) | undefined;
      readonly resolve: () => void;
      readonly reject: (err: Error) => void;
    }
  | { readonly kind: Kind.Open; readonly dbId: number; readonly handle: bigint }
  | { readonly kind: Kind.Close; readonly dbId: number };

const align8 = (n: number): number => (n + 7) & ~7;

/** `Atomics.waitAsync` (in Node since 16; in TypeScript's lib from ES2024 on). */
type WaitAsyncResult = { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> };
const waitAsync = (ta: Int32Array, index: number, value: number): WaitAsyncResult =>
  (Atomics as unknown as { waitAsync(ta: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync(ta, index, value);

/** The process's writer thread. */
class WriterThread {
  private readonly ri: Int32Array;
  private readonly ru: Uint8Array;
  private readonly rb: BigInt64Array;
  private readonly rf: Float64Array;
  /** Where the next record goes, and the ring bytes held by records not yet done. */
  private head = 0;
  private used = 0;
  /** Bytes of a skipped tail, charged to the next record published. */
  private pendingWrapBytes = 0;
  private published = 0;
  private done = 0;
  /** Records published and not yet done, oldest first. */
  private readonly inRing: Pending[] = [];
  private readonly backlog: Backlogged[] = [];
  private waiting = false;
  /** Writes in flight per database, and who waits for them to drain. */
  private readonly inFlight = new Map<number, number>();
  private readonly drained = new Map<number, () => void>();
  /** Set once the thread has stopped; every later write fails with it. */
  failed: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly toWorker: MessagePort,
    private readonly errors: MessagePort,
    private readonly ctrl: Int32Array,
    ring: SharedArrayBuffer,
  ) {
    this.ri = new Int32Array(ring);
    this.ru = new Uint8Array(ring);
    this.rb = new BigInt64Array(ring);
    this.rf = new Float64Array(ring);
    worker.on('error', (err) => this.fail(new Error(`rocksdb writer thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.fail(new Error(`rocksdb writer thread exited with code ${code}`)));
    worker.unref();
  }

  static async start(bindingPath: string): Promise<WriterThread> {
    const ctrl = new Int32Array(new SharedArrayBuffer(8));
    const ring = new SharedArrayBuffer(RING_BYTES);
    const data = new MessageChannel();
    const errors = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bindingPath, ctrl: ctrl.buffer, ring, inPort: data.port2, errPort: errors.port2 },
      transferList: [data.port2, errors.port2],
    });
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    data.port1.unref();
    errors.port1.unref();
    return new WriterThread(worker, data.port1, errors.port1, ctrl, ring);
  }

  open(dbId: number, handle: bigint): void {
    this.enqueue({ kind: Kind.Open, dbId, handle });
  }

  close(dbId: number): void {
    if (this.failed === undefined) this.enqueue({ kind: Kind.Close, dbId });
  }

  /** `onSynced`: told the seconds a synced write spent on the thread (its fsync included). */
  write(dbId: number, ops: readonly BatchOp[], sync: boolean, onSynced?: (seconds: number) => void): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    this.inFlight.set(dbId, (this.inFlight.get(dbId) ?? 0) + 1);
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: Kind.Write, dbId, ops, sync, onSynced: sync ? onSynced : undefined, resolve, reject }));
  }

  /** Publishes `r` now, or after the records waiting before it (the ring keeps their order). */
  private enqueue(r: Backlogged): void {
    if (this.backlog.length > 0 || !this.tryPublish(r)) this.backlog.push(r);
  }

  /** Publishes `r` if the ring has room for it. */
  private tryPublish(r: Backlogged): boolean {
    if (r.kind === Kind.Write) return this.tryWrite(r);
    const at = this.reserve(HEADER_BYTES);
    if (at === undefined) return false;
    this.ri[(at >> 2) + 2] = r.dbId;
    if (r.kind === Kind.Open) this.rb[(at >> 3) + 3] = r.handle;
    this.publish(at, r.kind, HEADER_BYTES, r.dbId, undefined, undefined, undefined);
    return true;
  }

  /** Resolves once no write of `dbId` is in flight. */
  async drain(dbId: number): Promise<void> {
    if ((this.inFlight.get(dbId) ?? 0) === 0) return;
    await new Promise<void>((resolve) => this.drained.set(dbId, resolve));
  }

  /** Copies `w` into the ring (or sends it, if too big) and publishes it; false if the ring is full. */
  private tryWrite(w: Backlogged & { kind: Kind.Write }): boolean {
    let bytes = 0;
    for (const op of w.ops) bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    const lensBytes = 8 * w.ops.length;
    const inRing = HEADER_BYTES + lensBytes + bytes <= MAX_RECORD_IN_RING;
    const size = inRing ? align8(HEADER_BYTES + lensBytes + bytes) : HEADER_BYTES;
    const at = this.reserve(size);
    if (at === undefined) return false;
    const h = at >> 2;
    this.ri[h + 2] = w.dbId;
    this.ri[h + 3] = w.sync ? 1 : 0;
    this.ri[h + 4] = w.ops.length;
    this.ri[h + 5] = bytes;
    let lens: Int32Array;
    let u8: Uint8Array;
    let data: number;
    let sent: { buf: ArrayBuffer; lens: Int32Array<ArrayBuffer> } | undefined;
    if (inRing) {
      lens = this.ri.subarray(h + HEADER_BYTES / 4, h + HEADER_BYTES / 4 + 2 * w.ops.length);
      u8 = this.ru;
      data = at + HEADER_BYTES + lensBytes;
    } else {
      sent = { buf: new ArrayBuffer(bytes), lens: new Int32Array(2 * w.ops.length) };
      lens = sent.lens;
      u8 = new Uint8Array(sent.buf);
      data = 0;
    }
    for (let i = 0; i < w.ops.length; i++) {
      const op = w.ops[i]!;
      u8.set(op.key, data);
      data += op.key.length;
      lens[2 * i] = op.key.length;
      if (op.type === 'put') {
        u8.set(op.value, data);
        data += op.value.length;
        lens[2 * i + 1] = op.value.length;
      } else {
        lens[2 * i + 1] = -1;
      }
    }
    // Sent before the record is published: the thread takes it when it reaches the record.
    if (sent !== undefined) this.toWorker.postMessage(sent, [sent.buf, sent.lens.buffer]);
    this.publish(at, inRing ? Kind.Write : Kind.Sent, size, w.dbId, w.resolve, w.reject, w.onSynced);
    return true;
  }

  /** The offset of `size` free bytes at the head (wrapping to 0 if the tail is too short), or undefined. */
  private reserve(size: number): number | undefined {
    const tail = RING_BYTES - this.head;
    if (size <= tail) {
      if (this.used + size > RING_BYTES) return undefined;
      const at = this.head;
      this.head = (this.head + size) % RING_BYTES;
      this.used += size;
      return at;
    }
    // Skip the tail: the thread jumps to 0 when it finds the marker.
    if (this.used + tail + size > RING_BYTES) return undefined;
    this.ri[this.head >> 2] = Kind.Wrap;
    this.used += tail;
    this.pendingWrapBytes += tail;
    this.head = size;
    this.used += size;
    return 0;
  }

  private publish(
    at: number,
    kind: Kind,
    size: number,
    dbId: number,
    resolve: (() => void) | undefined,
    reject: ((err: Error) => void) | undefined,
    onSynced: ((seconds: number) => void) | undefined,
  ): void {
    const h = at >> 2;
    this.ri[h] = kind;
    this.ri[h + 1] = size;
    this.inRing.push({ dbId, at, onSynced, bytes: size + this.pendingWrapBytes, resolve, reject });
    this.pendingWrapBytes = 0;
    if (this.inRing.length === 1) this.worker.ref();
    this.published = (this.published + 1) | 0;
    Atomics.store(this.ctrl, PUBLISHED, this.published);
    Atomics.notify(this.ctrl, PUBLISHED);
    this.waitForDone();
  }

  /** Arms one wait for the thread's progress while records are in the ring. */
  private waitForDone(): void {
    if (this.waiting || this.inRing.length === 0 || this.failed !== undefined) return;
    this.waiting = true;
    const r = waitAsync(this.ctrl, DONE, this.done);
    const wake = (): void => {
      this.waiting = false;
      this.collect();
    };
    if (r.async) void r.value.then(wake);
    else queueMicrotask(wake);
  }

  /** Settles every record the thread has finished, then moves the backlog into the freed room. */
  private collect(): void {
    if (this.failed !== undefined) return;
    const done = Atomics.load(this.ctrl, DONE);
    let errors: Map<number, string> | undefined;
    while (this.done !== done) {
      this.done = (this.done + 1) | 0;
      const p = this.inRing.shift()!;
      this.used -= p.bytes;
      if (p.resolve === undefined) continue;
      errors ??= this.takeErrors();
      const error = errors.get(this.done);
      // Read before the record's room is reused (below, by the backlog).
      // -1: a later record of the same write carried the fsync (the thread joins consecutive writes).
      const seconds = this.rf[(p.at >> 3) + 3]!;
      if (error === undefined && p.onSynced !== undefined && seconds >= 0) p.onSynced(seconds);
      if (error === undefined) p.resolve();
      else p.reject!(new Error(`rocksdb write failed: ${error}`));
      this.settled(p.dbId);
    }
    while (this.backlog.length > 0 && this.tryPublish(this.backlog[0]!)) this.backlog.shift();
    if (this.inRing.length === 0) this.worker.unref();
    this.waitForDone();
  }

  /** The thread's error reports so far, by record sequence number. */
  private takeErrors(): Map<number, string> {
    const out = new Map<number, string>();
    for (let m = receiveMessageOnPort(this.errors); m !== undefined; m = receiveMessageOnPort(this.errors)) {
      const e = m.message as { seq: number; error: string };
      out.set(e.seq, e.error);
    }
    return out;
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
  }

  private fail(err: Error): void {
    this.failed ??= err;
    if (thread === this) threadStart = undefined;
    const all: { dbId: number; reject?: ((err: Error) => void) | undefined }[] = [...this.inRing, ...this.backlog];
    this.inRing.length = 0;
    this.backlog.length = 0;
    for (const p of all) {
      if (p.reject === undefined) continue;
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

  write(ops: readonly BatchOp[], sync: boolean, onSynced?: (seconds: number) => void): Promise<void> {
    if (this.closing) return Promise.reject(new Error('rocksdb backend is closed'));
    return this.thread.write(this.dbId, ops, sync, onSynced);
  }

  /** Waits for this database's writes in flight, then forgets it in the writer thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.thread.drain(this.dbId);
    this.thread.close(this.dbId);
  }
}
