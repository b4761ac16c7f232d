import {
  CairnError,
  ErrorCode,
  FROM_KEY_END,
  bytesToString,
  prefixEnd,
  toBytes,
  type BytesLike,
  type DeleteRangeRequest,
  type KeyValue,
  type PutRequest,
  type RangeRequest,
  type SortOrder,
  type SortTarget,
} from '@cairn/protocol';
import type { CallOptions } from './transport.js';

/** A 64-bit integer argument: a bigint, or a JS number that is a safe integer. */
export type Int64Like = bigint | number;

export function toInt64(value: Int64Like, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) {
    throw new CairnError(ErrorCode.InvalidArgument, `${what} must be an integer (use a bigint past 2^53), got ${value}`);
  }
  return BigInt(value);
}

/**
 * Which keys, beyond `key` itself. At most one of: `rangeEnd` (the half-open [key, rangeEnd)),
 * `prefix` (every key starting with `key`), `fromKey` (every key >= `key`). An empty key with
 * `prefix` or `fromKey` means every key.
 */
export interface KeyRange {
  readonly rangeEnd?: BytesLike;
  readonly prefix?: boolean;
  readonly fromKey?: boolean;
}

export function resolveKeyRange(key: BytesLike, range: KeyRange): { key: Uint8Array; rangeEnd?: Uint8Array } {
  const set = [range.rangeEnd !== undefined, range.prefix === true, range.fromKey === true].filter(Boolean).length;
  if (set > 1) throw new CairnError(ErrorCode.InvalidArgument, 'choose at most one of rangeEnd, prefix and fromKey');
  let k = toBytes(key);
  if (range.rangeEnd !== undefined) return { key: k, rangeEnd: toBytes(range.rangeEnd) };
  if (range.prefix !== true && range.fromKey !== true) return { key: k };
  if (k.length === 0) {
    // The whole keyspace: etcd spells it key "\0", range end "\0".
    k = FROM_KEY_END;
    return { key: k, rangeEnd: FROM_KEY_END };
  }
  return { key: k, rangeEnd: range.prefix === true ? prefixEnd(k) : FROM_KEY_END };
}

/** The options of a read, without the key. */
export interface ReadOptions extends KeyRange {
  /** At most this many keys; 0 or absent: all. */
  readonly limit?: number;
  /** Read the store as of this revision; 0 or absent: now. */
  readonly revision?: Int64Like;
  /** Default `ascend` when `sortTarget` is given, else unsorted (which is key order). */
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Answer from the contacted member without a quorum round: faster, possibly stale. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: Int64Like;
  readonly maxModRevision?: Int64Like;
  readonly minCreateRevision?: Int64Like;
  readonly maxCreateRevision?: Int64Like;
}

/** A full range query: the key and how to read from it. */
export interface RangeQuery extends ReadOptions {
  readonly key: BytesLike;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function toRangeRequest(key: BytesLike, o: ReadOptions): RangeRequest {
  const req: Mutable<RangeRequest> = resolveKeyRange(key, o);
  if (o.limit !== undefined && o.limit !== 0) {
    if (!Number.isSafeInteger(o.limit) || o.limit < 0) {
      throw new CairnError(ErrorCode.InvalidArgument, `limit must be a non-negative integer, got ${o.limit}`);
    }
    req.limit = o.limit;
  }
  if (o.revision !== undefined) {
    const revision = toInt64(o.revision, 'revision');
    if (revision !== 0n) req.revision = revision;
  }
  if (o.sortTarget !== undefined) {
    req.sortTarget = o.sortTarget;
    req.sortOrder = o.sortOrder ?? 'ascend';
  } else if (o.sortOrder !== undefined) {
    req.sortOrder = o.sortOrder;
  }
  if (o.serializable === true) req.serializable = true;
  if (o.keysOnly === true) req.keysOnly = true;
  if (o.countOnly === true) req.countOnly = true;
  if (o.minModRevision !== undefined) req.minModRevision = toInt64(o.minModRevision, 'minModRevision');
  if (o.maxModRevision !== undefined) req.maxModRevision = toInt64(o.maxModRevision, 'maxModRevision');
  if (o.minCreateRevision !== undefined) req.minCreateRevision = toInt64(o.minCreateRevision, 'minCreateRevision');
  if (o.maxCreateRevision !== undefined) req.maxCreateRevision = toInt64(o.maxCreateRevision, 'maxCreateRevision');
  return req;
}

export interface WriteOptions {
  /** Attach the key to this lease (0: none). */
  readonly lease?: Int64Like;
  /** Return the key-value as it was before the put. */
  readonly prevKv?: boolean;
  /** Keep the current value (the value argument is ignored); the key must exist. */
  readonly ignoreValue?: boolean;
  /** Keep the current lease; the key must exist. */
  readonly ignoreLease?: boolean;
}

export function toPutRequest(key: BytesLike, value: BytesLike, o: WriteOptions): PutRequest {
  const req: Mutable<PutRequest> = { key: toBytes(key) };
  if (o.ignoreValue !== true) req.value = toBytes(value);
  else req.ignoreValue = true;
  if (o.lease !== undefined && o.lease !== 0 && o.lease !== 0n) req.lease = toInt64(o.lease, 'lease');
  if (o.prevKv === true) req.prevKv = true;
  if (o.ignoreLease === true) req.ignoreLease = true;
  return req;
}

export interface DeleteOptions extends KeyRange {
  /** Return the deleted key-values. */
  readonly prevKv?: boolean;
}

export function toDeleteRequest(key: BytesLike, o: DeleteOptions): DeleteRangeRequest {
  const req: Mutable<DeleteRangeRequest> = resolveKeyRange(key, o);
  if (o.prevKv === true) req.prevKv = true;
  return req;
}

/** Separates the per-call options (deadline, signal, retry) from an options bag. */
export function callOptionsOf(o: CallOptions | undefined): CallOptions {
  if (o === undefined) return {};
  const out: { -readonly [K in keyof CallOptions]: CallOptions[K] } = {};
  if (o.signal !== undefined) out.signal = o.signal;
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  if (o.retry !== undefined) out.retry = o.retry;
  return out;
}

/** The key as a string (UTF-8). */
export function keyString(kv: KeyValue): string {
  return bytesToString(kv.key);
}

/** The value as a string (UTF-8). */
export function valueString(kv: KeyValue): string {
  return bytesToString(kv.value);
}
