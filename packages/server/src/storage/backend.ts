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
 * - `clear` deletes a whole key range. Call it only while no `write` is in flight (RocksDB
 *   runs it at once, not queued behind writes); it is durable once a later synced `write`
 *   resolves.
 * - A `reader` sees the store as it was when the reader was opened, whatever is written
 *   after, until it is closed: a consistent point-in-time view for streaming a snapshot.
 * - `pin(tables)` freezes what reads see of those tables (keys whose first byte is listed):
 *   until the returned function is called, `get`, `getMany`, `scan` and readers opened
 *   meanwhile see them as they were at `pin`, while writes go on underneath. A snapshot install
 *   replaces the state tables this way without any reader seeing them half-copied.
 * - A synced write makes every batch written before it durable too (RocksDB keeps one ordered
 *   write-ahead log): a chain of unsynced writes ended by a synced one survives power loss as
 *   a whole or as a prefix.
 * - After `close` resolves nothing else may be called.
 */
export interface Backend {
  get(key: Uint8Array): Uint8Array | undefined;
  /** One lookup for many keys; the answer is positional. */
  getMany(keys: readonly Uint8Array[]): (Uint8Array | undefined)[];
  /** Entries with gte <= key < lt in key order (reversed with `reverse`), at most `limit`. */
  scan(range: ScanRange): Iterable<readonly [Uint8Array, Uint8Array]>;
  write(ops: readonly BatchOp[], options: { readonly sync: boolean }): Promise<void>;
  /** Deletes every key with gte <= key < lt. */
  clear(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<void>;
  /** A point-in-time reader over [gte, lt); close it when done (it pins old data). */
  reader(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): BackendReader;
  /** Freezes reads of `tables` (first key bytes) until the returned function is called; one pin at a time. */
  pin(tables: readonly number[]): () => void;
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

/** Reads a range in chunks from one consistent view (see Backend.reader). */
export interface BackendReader {
  /** Up to `maxRows` entries in key order; an empty array at the end. */
  next(maxRows: number): (readonly [Uint8Array, Uint8Array])[];
  /** Moves to the first key >= `key`. */
  seek(key: Uint8Array): void;
  close(): void;
}
