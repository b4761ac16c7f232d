import { CairnError, ErrorCode, type PutRequest, type RequestOp, type TxnRequest } from '@cairn/protocol';
import { checkDuplicateKeys, countOps } from '../mvcc/txnCheck.js';
import type { WriteRequest } from './requests.js';
import { MAX_LEASE_TTL_SECONDS } from '../lease/lessor.js';

/**
 * Checks of a request's own shape that need no state and no configuration. The API runs them
 * before proposing (so a bad request never enters the log) and the applier runs them again
 * (so the log alone decides every outcome).
 */
export function checkWriteRequest(req: WriteRequest): void {
  if ('put' in req) checkPut(req.put);
  else if ('deleteRange' in req) checkKey(req.deleteRange.key);
  else if ('txn' in req) checkTxn(req.txn);
  else if ('leaseGrant' in req) {
    if (req.leaseGrant.id === undefined || req.leaseGrant.id <= 0n) {
      throw new CairnError(ErrorCode.InvalidArgument, 'lease id must be positive');
    }
    if (req.leaseGrant.ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new CairnError(ErrorCode.LeaseTtlTooLarge);
  }
}

export function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new CairnError(ErrorCode.EmptyKey);
}

function checkPut(put: PutRequest): void {
  checkKey(put.key);
  if (put.ignoreValue === true && put.value !== undefined && put.value.length > 0) {
    throw new CairnError(ErrorCode.InvalidArgument, 'value is provided');
  }
  if (put.ignoreLease === true && put.lease !== undefined && put.lease !== 0n) {
    throw new CairnError(ErrorCode.InvalidArgument, 'lease is provided');
  }
}

function checkOps(ops: readonly RequestOp[]): void {
  for (const op of ops) {
    if ('range' in op) checkKey(op.range.key);
    else if ('put' in op) checkPut(op.put);
    else if ('deleteRange' in op) checkKey(op.deleteRange.key);
    else {
      checkOps(op.txn.success);
      checkOps(op.txn.failure);
    }
  }
}

export function checkTxn(txn: TxnRequest): void {
  checkOps(txn.success);
  checkOps(txn.failure);
  checkDuplicateKeys(txn.success);
  checkDuplicateKeys(txn.failure);
}

/** Operations a txn holds, nested ones included (limited by the API's maxTxnOps). */
export function txnOps(txn: TxnRequest): number {
  return Math.max(countOps(txn.success), countOps(txn.failure), txn.compare.length);
}
