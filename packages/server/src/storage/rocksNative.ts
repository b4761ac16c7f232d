import { createRequire } from 'node:module';
import { DatabaseLockedError, isLockedOpenError } from './dataDirErrors.js';
import { RocksWriter } from './rocksWriter.js';

/** The parts of @nxtedition/rocksdb this module uses (the package ships no types). */
export interface RocksIterator {
  _nextvSync(size: number, options: object): { rows: Uint8Array[]; finished: boolean };
  seek(target: Uint8Array): void;
  close(): Promise<void>;
}
export interface RocksLevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  /** The native database pointer, for opening the same database from a worker thread. */
  readonly handle: bigint;
  iterator(options: { gte: Uint8Array; lt: Uint8Array; reverse?: boolean; limit?: number; highWaterMarkBytes?: number }): RocksIterator;
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
  /** Which file a level compaction picks first (RocksDB's compaction_pri). */
  compactionPriority: 'byCompensatedSize';
}
type RocksLevelCtor = new (dir: string, options: RocksOpenOptions) => RocksLevelDb;

const require = createRequire(import.meta.url);

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
/**
 * 32 MiB: a member written at saturation with 64 KiB values stays under 300 MB RSS (with the
 * glibc tunable of deploy/); 64 MiB wrote such values 19% faster at up to 336 MB, and made no
 * difference to small values (docs/benchmarks.md, "Memory soak").
 */
export const DEFAULT_ROCKSDB_MEMTABLE_BUDGET_BYTES = 32 * 1024 * 1024;
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

/** Opens RocksDB in `dir` with Cairn's options, and registers it with the writer thread. */
export async function openRocks(dir: string, memory: RocksMemoryOptions): Promise<{ db: RocksLevelDb; writer: RocksWriter }> {
  checkRocksMemory(memory);
  const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: RocksLevelCtor };
  const db = new RocksLevel(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    cacheSize: memory.blockCacheBytes,
    cacheIndexAndFilterBlocks: memory.blockCacheBytes > 0,
    memtableMemoryBudget: memory.memtableBudgetBytes,
    compaction: 'level',
    // The history and the raft log are queues: written at the tail, deleted at the head. With
    // the default priority the small delete markers rarely push a level over its target, so
    // deleted values stay on disk (the data directory grew without bound under a write soak:
    // 6.4 GB for ~0.4 GB live after 9 GB written). Files weighted by their deletes get
    // compacted first, which drops what they delete (docs/benchmarks.md, "Memory soak").
    compactionPriority: 'byCompensatedSize',
  });
  try {
    await db.open();
  } catch (err) {
    if (isLockedOpenError(err)) throw new DatabaseLockedError(dir, { cause: err });
    throw err;
  }
  try {
    return { db, writer: await RocksWriter.start(db.handle, require.resolve('@nxtedition/rocksdb/binding')) };
  } catch (err) {
    await db.close();
    throw err;
  }
}

