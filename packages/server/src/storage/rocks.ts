import { rmSync } from 'node:fs';
import type { Backend, BackendReader, BatchOp, ScanRange } from './backend.js';
import type { RocksWriter } from './rocksWriter.js';
import { checkRocksMemory, defaultRocksMemory, openRocks, type RocksLevelDb, type RocksMemoryOptions } from './rocksNative.js';
import { defragSlots, recoverDefrag } from './defragDirs.js';
import { WriteGate, type GateOp } from './writeGate.js';
import { runDefrag, type DefragProgress, type DefragResult } from './defrag.js';
import { PinnedView } from './pinnedView.js';

export {
  checkRocksMemory,
  defaultRocksMemory,
  RocksOptionError,
  DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
  DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES,
  MAX_ROCKSDB_BLOCK_CACHE_BYTES,
  MIN_ROCKSDB_MEMTABLE_BUDGET_BYTES,
  MAX_ROCKSDB_MEMTABLE_BUDGET_BYTES,
  type RocksMemoryOptions,
} from './rocksNative.js';
export type { DefragProgress, DefragResult } from './defrag.js';

/** Rows fetched per native call while scanning. */
const SCAN_CHUNK_ROWS = 1024;

/** One open RocksDB: the native database, its writer registration, and who still reads it. */
interface OpenDb {
  readonly db: RocksLevelDb;
  readonly writer: RocksWriter;
  readonly dir: string;
  /** Point-in-time readers still open on it (a replaced database closes after the last one). */
  readers: number;
  /** Set once the database is replaced: called when the last reader closes. */
  idle?: () => void;
}

/** Journaled bytes a defrag keeps in memory before it holds writes instead. */
const MAX_DEFRAG_JOURNAL_BYTES = 64 * 1024 * 1024;

/**
 * The production Backend: one RocksDB database in `dir`.
 *
 * Reads run on the calling thread (synchronous, as the Backend contract says). Writes go to one
 * writer thread (rocksWriter.ts) that applies them in order with one reused native batch, so
 * the fsync never blocks the event loop and no native batch is allocated per write.
 *
 * `defrag` rewrites the live data into a fresh database and switches to it while the member
 * runs (see defrag.ts); until the next open the live copy may sit beside `dir` (defragDirs.ts).
 */
export class RocksBackend implements Backend {
  private closed = false;
  private cur: OpenDb;
  private readonly gate: WriteGate;
  private defragging: Promise<DefragResult> | undefined;
  /** A replaced database being closed and removed once its readers are done. */
  private retiring: Promise<void> = Promise.resolve();
  private retired: OpenDb | undefined;
  /** Keys and values written since open, and how many entries: the average entry, for sizeBytes. */
  private writtenBytes = 0;
  private writtenEntries = 0;
  /** Reads of pinned tables come from here while a pin lasts (Backend.pin). */
  private pinned: PinnedView | undefined;

  private constructor(
    first: { db: RocksLevelDb; writer: RocksWriter },
    readonly dir: string,
    readonly memory: RocksMemoryOptions,
  ) {
    this.cur = { ...first, dir, readers: 0 };
    this.gate = new WriteGate((op) => this.sendTo(this.cur, op), MAX_DEFRAG_JOURNAL_BYTES);
  }

  /** Opens (creating it if needed) the database in `dir`, after finishing an interrupted defrag. */
  static async open(dir: string, memory: RocksMemoryOptions = defaultRocksMemory): Promise<RocksBackend> {
    checkRocksMemory(memory);
    recoverDefrag(dir);
    return new RocksBackend(await openRocks(dir, memory), dir, memory);
  }

  /**
   * Told the seconds each synced write spent on the writer thread, its fsync included: the
   * part of a write the disk decides (etcd_disk_wal_fsync_duration_seconds).
   */
  onSyncedWrite: ((seconds: number) => void) | undefined;

  /** The directory of the copy in use now (`dir`, or its defrag slot after an online defrag). */
  get liveDir(): string {
    return this.cur.dir;
  }

  private sendTo(to: OpenDb, op: GateOp): Promise<void> {
    if (op.kind === 'write') return to.writer.write(op.ops, op.sync, this.onSyncedWrite);
    return to.db.clear({ gte: op.gte, lt: op.lt });
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const p = this.pinned;
    if (p !== undefined && p.covers(key)) return p.get(key);
    return this.cur.db._getManySync([key])[0];
  }

  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    if (keys.length === 0) return [];
    const p = this.pinned;
    if (p !== undefined && keys.some((k) => p.covers(k))) return keys.map((k) => this.get(k));
    return this.cur.db._getManySync(keys);
  }

  scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    const p = this.pinned;
    if (p !== undefined && p.covers(range.gte)) return p.scan(range);
    return this.liveScan(range);
  }

  private *liveScan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
    const options: { gte: Uint8Array; lt: Uint8Array; reverse?: boolean; limit?: number } = {
      gte: range.gte,
      lt: range.lt,
    };
    if (range.reverse !== undefined) options.reverse = range.reverse;
    if (range.limit !== undefined) options.limit = range.limit;
    const it = this.cur.db.iterator(options);
    try {
      for (;;) {
        const { rows, finished } = it._nextvSync(SCAN_CHUNK_ROWS, {});
        for (let i = 0; i + 1 < rows.length; i += 2) yield [rows[i]!, rows[i + 1]!] as const;
        if (finished || rows.length === 0) return;
      }
    } finally {
      void it.close();
    }
  }

  write(ops: readonly BatchOp[], options: { readonly sync: boolean }): Promise<void> {
    if (this.closed) return Promise.reject(new Error('rocksdb backend is closed'));
    for (const op of ops) this.writtenBytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    this.writtenEntries += ops.length;
    return this.gate.submit({ kind: 'write', ops, sync: options.sync });
  }

  clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void> {
    if (this.closed) return Promise.reject(new Error('rocksdb backend is closed'));
    return this.gate.submit({ kind: 'clear', gte: range.gte, lt: range.lt });
  }

  pin(tables: readonly number[]): () => void {
    if (this.pinned !== undefined) throw new Error('rocksdb backend: already pinned');
    // Over every key: a seek anywhere stays inside the iterators' bounds.
    const all = { gte: new Uint8Array([0x00]), lt: new Uint8Array([0xff]) };
    const view = new PinnedView(new Set(tables), this.cur.db.iterator(all), this.cur.db.iterator({ ...all, reverse: true }));
    this.pinned = view;
    return () => {
      if (this.pinned === view) this.pinned = undefined;
      view.release();
    };
  }

  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader {
    const p = this.pinned;
    if (p !== undefined && p.covers(range.gte)) return p.reader(range);
    // A RocksDB iterator reads from the implicit snapshot taken when it was created.
    const on = this.cur;
    const it = on.db.iterator({ gte: range.gte, lt: range.lt });
    on.readers++;
    let done = false;
    let closed = false;
    return {
      next(maxRows) {
        if (done) return [];
        const { rows, finished } = it._nextvSync(maxRows, {});
        const out: (readonly [Uint8Array, Uint8Array])[] = [];
        for (let i = 0; i + 1 < rows.length; i += 2) out.push([rows[i]!, rows[i + 1]!]);
        if (finished && out.length === 0) done = true;
        return out;
      },
      seek(key) {
        done = false;
        it.seek(key);
      },
      close() {
        done = true;
        if (closed) return;
        closed = true;
        void it.close();
        on.readers--;
        if (on.readers === 0) on.idle?.();
      },
    };
  }

  /**
   * Rewrites the live data into a fresh database and switches to it: the space deleted and
   * compacted data held is given back to the file system. Writes continue meanwhile (they wait
   * a moment at the switch); reads are never paused. Calls made while one runs share it.
   */
  defrag(onProgress?: (p: DefragProgress) => void): Promise<DefragResult> {
    if (this.closed) return Promise.reject(new Error('rocksdb backend is closed'));
    this.defragging ??= this.defragOnce(this.sizeBytes(), onProgress).finally(() => (this.defragging = undefined));
    return this.defragging;
  }

  private async defragOnce(sizeBefore: number, onProgress: ((p: DefragProgress) => void) | undefined): Promise<DefragResult> {
    // The copy replaced last time must be gone before its slot is built again.
    await this.retiring;
    const from = this.cur;
    const result = await runDefrag({
      from: { db: from.db, dir: from.dir },
      slots: defragSlots(this.dir),
      memory: this.memory,
      gate: this.gate,
      sizeBefore,
      isClosed: () => this.closed,
      onProgress,
      switchTo: (to, copied) => {
        this.cur = { db: to.db, writer: to.writer, dir: to.dir, readers: 0 };
        // The new copy's memtables hold the copied rows: their average is the one to use.
        this.writtenBytes = copied.bytes;
        this.writtenEntries = copied.keys;
        this.retiring = this.retire(from);
      },
      sizeAfter: () => this.sizeBytes(),
    });
    return result;
  }

  /** Closes a replaced database once its last reader is done, and removes its directory. */
  private async retire(old: OpenDb): Promise<void> {
    this.retired = old;
    if (old.readers > 0) await new Promise<void>((resolve) => (old.idle = resolve));
    await old.writer.close();
    await old.db.close();
    rmSync(old.dir, { recursive: true, force: true });
    if (this.retired === old) this.retired = undefined;
  }

  /**
   * Bytes the data occupies, from RocksDB's own accounting: the live SST files plus what the
   * memtables hold and is not flushed yet (estimated). A few native calls, no file system walk.
   */
  sizeBytes(): number {
    if (this.closed) return 0;
    // The memtables' arena grows in blocks of about a megabyte, too coarse for a small database:
    // their entries times the average entry written stands for what their write-ahead log holds.
    const entries = this.property('rocksdb.num-entries-active-mem-table') + this.property('rocksdb.num-entries-imm-mem-tables');
    const average = this.writtenEntries === 0 ? 0 : this.writtenBytes / this.writtenEntries;
    const memtables = Math.min(this.property('rocksdb.cur-size-all-mem-tables'), Math.round(entries * average));
    return this.property('rocksdb.live-sst-files-size') + memtables;
  }

  /** Memory RocksDB reports it holds: memtables, block cache, table readers and pinned blocks. */
  memoryBytes(): { memtables: number; blockCache: number; tableReaders: number; pinned: number } {
    if (this.closed) return { memtables: 0, blockCache: 0, tableReaders: 0, pinned: 0 };
    return {
      memtables: this.property('rocksdb.size-all-mem-tables'),
      blockCache: this.property('rocksdb.block-cache-usage'),
      tableReaders: this.property('rocksdb.estimate-table-readers-mem'),
      pinned: this.property('rocksdb.block-cache-pinned-usage'),
    };
  }

  private property(name: string): number {
    const n = Number(this.cur.db.getProperty(name));
    return Number.isFinite(n) ? n : 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A defrag in progress sees `closed` and gives up (its copy is removed at the next open).
    await this.defragging?.catch(() => undefined);
    await this.gate.release();
    await this.gate.settle();
    // The writer thread uses the native database: stop it (after its queue drains) first.
    await this.cur.writer.close();
    await this.cur.db.close();
    // Closing ends the readers a replaced copy still had.
    this.retired?.idle?.();
    await this.retiring.catch(() => undefined);
  }
}
