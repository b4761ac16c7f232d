import { CairnError, DEFAULT_MAX_REQUEST_BYTES, ErrorCode, type RequestOp, type TxnRequest } from '@cairn/protocol';
import { checkKey, txnOps } from '../apply/checks.js';

/** Limits the client API enforces before anything reaches the member. */
export interface ApiLimits {
  /** Largest request frame accepted, in bytes (etcd's --max-request-bytes). */
  readonly maxRequestBytes: number;
  /** Most operations in one txn, nested ones included (etcd's --max-txn-ops). */
  readonly maxTxnOps: number;
  /** Longest key accepted, in bytes. */
  readonly maxKeyBytes: number;
  /**
   * Most keys the compares of one txn (nested txns included) may visit; a range compare
   * counts every key the index holds in its range.
   */
  readonly maxTxnCompareKeys: number;
}

export const DEFAULT_MAX_TXN_OPS = 128;
export const DEFAULT_MAX_KEY_BYTES = 32 * 1024;
export const DEFAULT_MAX_TXN_COMPARE_KEYS = 10_000;

export const defaultLimits: ApiLimits = {
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxTxnOps: DEFAULT_MAX_TXN_OPS,
  maxKeyBytes: DEFAULT_MAX_KEY_BYTES,
  maxTxnCompareKeys: DEFAULT_MAX_TXN_COMPARE_KEYS,
};

export function checkRequestBytes(bytes: number, limits: ApiLimits): void {
  if (bytes > limits.maxRequestBytes) {
    // etcd says only "request is too large"; the size and the limit tell the user what to change.
    throw new CairnError(ErrorCode.RequestTooLarge, `request is too large: ${bytes} bytes, limit ${limits.maxRequestBytes}`, {
      maxRequestBytes: limits.maxRequestBytes,
      bytes,
    });
  }
}

/** A key (and range end) of a request: not empty, not longer than maxKeyBytes. */
export function checkKeyLimits(key: Uint8Array, limits: ApiLimits, rangeEnd?: Uint8Array): void {
  checkKey(key);
  if (key.length > limits.maxKeyBytes || (rangeEnd !== undefined && rangeEnd.length > limits.maxKeyBytes)) {
    throw new CairnError(ErrorCode.KeyTooLarge, undefined, { maxKeyBytes: limits.maxKeyBytes });
  }
}

export function checkTxnLimits(txn: TxnRequest, limits: ApiLimits): void {
  if (txnOps(txn) > limits.maxTxnOps) {
    throw new CairnError(ErrorCode.TooManyOps, undefined, { maxTxnOps: limits.maxTxnOps });
  }
  for (const c of txn.compare) {
    if (c.key.length > limits.maxKeyBytes) throw new CairnError(ErrorCode.KeyTooLarge, undefined, { maxKeyBytes: limits.maxKeyBytes });
  }
  checkOps(txn.success, limits);
  checkOps(txn.failure, limits);
}

function checkOps(ops: readonly RequestOp[], limits: ApiLimits): void {
  for (const op of ops) {
    if ('range' in op) checkKeyLimits(op.range.key, limits, op.range.rangeEnd);
    else if ('put' in op) checkKeyLimits(op.put.key, limits);
    else if ('deleteRange' in op) checkKeyLimits(op.deleteRange.key, limits, op.deleteRange.rangeEnd);
    else checkTxnLimits(op.txn, limits);
  }
}

/**
 * Counts the compares of a txn as it arrived (before it is decoded and validated, which costs
 * a few microseconds per compare), nested txns of both branches included, and refuses more
 * than maxTxnOps of them with too_many_ops. Anything malformed is left to the validator.
 * Iterative, so deep nesting cannot overflow the stack here.
 */
export function precheckTxnCompares(raw: unknown, limits: ApiLimits): void {
  let compares = 0;
  const pending: unknown[] = [raw];
  while (pending.length > 0) {
    const t = pending.pop();
    if (typeof t !== 'object' || t === null) continue;
    const { compare, success, failure } = t as Record<string, unknown>;
    if (Array.isArray(compare)) compares += compare.length;
    if (compares > limits.maxTxnOps) {
      throw new CairnError(
        ErrorCode.TooManyOps,
        `too many operations in txn request: more than ${limits.maxTxnOps} compares, nested txns included (--max-txn-ops)`,
        { maxTxnOps: limits.maxTxnOps },
      );
    }
    for (const branch of [success, failure]) {
      if (!Array.isArray(branch)) continue;
      for (const op of branch as unknown[]) {
        if (typeof op === 'object' && op !== null && 'txn' in op) pending.push((op as { txn: unknown }).txn);
      }
    }
  }
}
