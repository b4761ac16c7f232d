/** Stateless checks of request shapes, shared by the request kinds (kinds.ts) and the API's limits. */
import { CairnError, ErrorCode, type PutRequest, type RequestOp, type TxnRequest } from '@cairn/protocol';
import { checkDuplicateKeys, countOps } from '../mvcc/txnCheck.js';

export function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new CairnError(ErrorCode.EmptyKey);
}

/** A put's own shape (also inside a txn). */
export function checkPut(put: PutRequest): void {
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

/** A txn's own shape: its ops, and no key written twice in a branch. */
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
