import { createRequire } from 'node:module';
import type { Backend, BackendReader, BatchOp, ScanRange } from './backend.js';
import { RocksWriter } from './rocksWriter.js';
import { PinnedView } from './pinnedView.js';

/** The parts of @nxtedition/rocksdb this module uses (the package ships no types). */
interface RocksIterator {
  _nextvSync(size: number, options: object): { rows: Uint8Array[]; finished: boolean };
  seek(target: Uint8Array): void;
  close(): Promise<void>;
}
interface RocksLevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  /** The native database pointer, for opening the same database from a worker thread. */
  readonly handle: bigint;
  iterator(options: { gte: Uint8Array; lt: Uint8Array; reverse?: boolean; limit?: number }): RocksIterator;
  clear(options: { gte: Uint8Array; lt: Uint8Array }): Promise<void>;
  _getManySync(keys: readonly Uint8Array[], options?: object): (Uint8Array | undefined)[];
  getProperty(name: string): string;
}
/** Options of @nxtedition/rocksdb's open that Cairn sets (see its binding.cc, InitOptions). */
interface RocksOpenOptions {
  keyEncoding: 'buffer';
  valueEncoding: 'buffer';
  /** Block cache capacity in bytes (a uint32 in the binding); 0: no block cache. */
  cacheSize: number;
  /** Index and filter blocks live in (and are bounded by) the block cache. */
  cacheIndexAndFilterBlocks: boolean;
  /** With `compaction: 'level'`: write_buffer_size = budget / 4, up to 6 memtables. */
  memtableMemoryBudget: number;
  compaction: 'level';
}
type RocksLevelCtor = new (dir: string, options: RocksOpenOptions) => RocksLevelDb;

const require = createRequire(import.meta.url);

/** Rows fetched per native call while scanning. */
const SCAN_CHUNK_ROWS = 1024;

/** RocksDB's memory bounds; see docs/configuration.md ("RocksDB memory"). */
export interface RocksMemoryOptions {
  /** Block cache capacity (uncompressed data, index and filter blocks). */
  readonly blockCacheBytes: number;
  /**
   * Memtable budget: each memtable is a quarter of it and at most six exist at once (one
   * being written, the rest waiting for their flush), so memtables use at most 1.5x this.
   */
  readonly memtableBudgetBytes: number;
}

export const DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES = 64 * 1024 * 1024;
/** The binding reads the block cache capacity as a uint32. */
export const MAX_ROCKSDB_BLOCK_CACHE_BYTES = 2 ** 32 - 1;
/** Below this a memtable (a quarter) is smaller than 1 MiB and flushes thrash. */
export const MIN_ROCKSDB_MEMTABLE_BUDGET_BYTES = 4 * 1024 * 1024;
export const MAX_ROCKSDB_MEMTABLE_BUDGET_BYTES = 64 * 1024 * 1024 * 1024;

export const defaultRocksMemory: RocksMemoryOptions = {
  blockCacheBytes: DEFAULT_ROCKSDB_BLOCK_CACHE_BYTES,
  memtableBudgetBytes: DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES,
};

/** A memory bound RocksDB cannot be opened with. */
export class RocksOptionError extends Error {
  override readonly name = 'RocksOptionError';
}

/** Checks the bounds; the message names the daemon flag. */
export function checkRocksMemory(o: RocksMemoryOptions): RocksMemoryOptions {
  const { blockCacheBytes: c, memtableBudgetBytes: m } = o;
  if (!Number.isSafeInteger(c) || c < 0 || c > MAX_ROCKSDB_BLOCK_CACHE_BYTES) {
    throw new RocksOptionError(`rocksdb-block-cache-bytes must be an integer from 0 (no cache) to ${MAX_ROCKSDB_BLOCK_CACHE_BYTES}, got ${c}`);
  }
  if (!Number.isSafeInteger(m) || m < MIN_ROCKSDB_MEMTABLE_BUDGET_BYTES || m > MAX_ROCKSDB_MEMTABLE_BUDGET_BYTES) {
    throw new RocksOptionError(
      `rocksdb-memtable-budget-bytes must be an integer from ${MIN_ROCKSDB_MEMTABLE_BUDGET_BYTES} (4 MiB) to ${MAX_ROCKSDB_MEMTABLE_BUDGET_BYTES} (64 GiB), got ${m}`,
    );
  }
  return o;
}

/**
 * The production Backend: one RocksDB database in `dir`.
 *
 * Reads run on the calling thread (synchronous, as the Backend contract says). Writes go to one
 * writer thread (rocksWriter.ts) that applies them in order with one reused native batch, so
 * the fsync never blocks the event loop and no native batch is allocated per write.
 */
export class RocksBackend implements Backend {
  private closed = false;
  /** Reads of pinned tables come from here while a pin lasts (Backend.pin). */
  private pinned: PinnedView | undefined;

  private constructor(
    private readonly db: RocksLevelDb,
    private readonly writer: RocksWriter,
    readonly dir: string,
    readonly memory: RocksMemoryOptions,
  ) {}

  static async open(dir: string, memory: RocksMemoryOptions = defaultRocksMemory): Promise<RocksBackend> {
    checkRocksMemory(memory);
    const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: RocksLevelCtor };
    const db = new RocksLevel(dir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      cacheSize: memory.blockCacheBytes,
      cacheIndexAndFilterBlocks: memory.blockCacheBytes > 0,
      memtableMemoryBudget: memory.memtableBudgetBytes,
      compaction: 'level',
    });
    await db.open();
    let writer: RocksWriter;
    try {
      writer = await RocksWriter.start(db.handle, require.resolve('@nxtedition/rocksdb/binding'));
    } catch (err) {
      await db.close();
      throw err;
    }
    return new RocksBackend(db, writer, dir, memory);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const p = this.pinned;
    if (p !== undefined && p.covers(key)) return p.get(key);
    return this.db._getManySync([key])[0];
  }

  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    if (keys.length === 0) return [];
    const p = this.pinned;
    if (p !== undefined && keys.some((k) => p.covers(k))) return keys.map((k) => this.get(k));
    return this.db._getManySync(keys);
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
    const it = this.db.iterator(options);
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
    return this.writer.write(ops, options.sync);
  }

  clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void> {
    return this.db.clear({ gte: range.gte, lt: range.lt });
  }

  pin(tables: readonly number[]): () => void {
    if (this.pinned !== undefined) throw new Error('rocksdb backend: already pinned');
    // Over every key: a seek anywhere stays inside the iterators' bounds.
    const all = { gte: new Uint8Array([0x00]), lt: new Uint8Array([0xff]) };
    const view = new PinnedView(new Set(tables), this.db.iterator(all), this.db.iterator({ ...all, reverse: true }));
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
    const it = this.db.iterator({ gte: range.gte, lt: range.lt });
    let done = false;
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
        void it.close();
      },
    };
  }

  /**
   * Bytes the data occupies, from RocksDB's own accounting: the live SST files plus what the
   * memtables hold and is not flushed yet. A few native calls, no file system walk.
   */
  sizeBytes(): number {
    if (this.closed) return 0;
    return this.property('rocksdb.live-sst-files-size') + this.property('rocksdb.cur-size-all-mem-tables');
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
    const n = Number(this.db.getProperty(name));
    return Number.isFinite(n) ? n : 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The writer thread uses the native database: stop it (after its queue drains) first.
    await this.writer.close();
    await this.db.close();
  }
}
