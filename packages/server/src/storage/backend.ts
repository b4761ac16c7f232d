/**
 * The durable store under one member: an ordered map of byte keys to byte values.
 *
 * Contract (every implementation, RocksDB or simulated):
 * - Keys sort as unsigned bytes.
 * - `get`, `getMany` and `scan` are synchronous and see every batch whose `write` promise
 *   has resolved. A batch still being written may or may not be visible: callers that need
 *   their own unwritten data keep an overlay (the MVCC store does).
 * - `write` applies a batch atomically: after a crash either all of it or none of it is there.
 *   With `sync: true` the promise resolves only after the batch is on disk (fsync); a
 *   resolved synced write survives kill -9 and power loss.
 * - Batches are applied in the order `write` was called.
 * - After `close` resolves nothing else may be called.
 */
export interface Backend {
  get(key: Uint8Array): Uint8Array | undefined;
  /** One lookup for many keys; the answer is positional. */
  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[];
  /** Entries with gte <= key < lt in key order (reversed with `reverse`), at most `limit`. */
  scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]>;
  write(ops: readonly BatchOp[], options: { readonly sync: boolean }): Promise<void>;
  /** Bytes the store occupies on disk, as far as the implementation knows. */
  sizeBytes(): number;
  close(): Promise<void>;
}

export interface ScanRange {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

export type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };
