import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, BackendReader, BatchOp, ScanRange } from './backend.js';

/** The parts of @nxtedition/rocksdb this module uses (the package ships no types). */
interface RocksIterator {
  _nextvSync(size: number, options: object): { rows: Uint8Array[]; finished: boolean };
  seek(target: Uint8Array): void;
  close(): Promise<void>;
}
interface RocksLevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  batch(ops: readonly BatchOp[], options: { sync: boolean }): Promise<void>;
  iterator(options: { gte: Uint8Array; lt: Uint8Array; reverse?: boolean; limit?: number }): RocksIterator;
  clear(options: { gte: Uint8Array; lt: Uint8Array }): Promise<void>;
  _getManySync(keys: readonly Uint8Array[], options?: object): (Uint8Array | undefined)[];
}
type RocksLevelCtor = new (dir: string, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }) => RocksLevelDb;

const require = createRequire(import.meta.url);

/** Rows fetched per native call while scanning. */
const SCAN_CHUNK_ROWS = 1024;

/** The production Backend: one RocksDB database in `dir`. */
export class RocksBackend implements Backend {
  private closed = false;

  private constructor(
    private readonly db: RocksLevelDb,
    readonly dir: string,
  ) {}

  static async open(dir: string): Promise<RocksBackend> {
    const { RocksLevel } = require('@nxtedition/rocksdb') as { RocksLevel: RocksLevelCtor };
    const db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return new RocksBackend(db, dir);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.db._getManySync([key])[0];
  }

  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    if (keys.length === 0) return [];
    return this.db._getManySync(keys);
  }

  *scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]> {
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
    return this.db.batch(ops, { sync: options.sync });
  }

  clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void> {
    return this.db.clear({ gte: range.gte, lt: range.lt });
  }

  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader {
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

  sizeBytes(): number {
    return dirSize(this.dir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}

/** Sum of file sizes under `dir` (not following links); files vanishing mid-walk are skipped. */
export function dirSize(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const st = statSync(join(dir, name));
      total += st.isDirectory() ? dirSize(join(dir, name)) : st.size;
    } catch {
      // compaction removed it between readdir and stat
    }
  }
  return total;
}
