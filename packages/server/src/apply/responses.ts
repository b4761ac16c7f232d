import type {
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
} from '@cairn/protocol';
import type { RangeResult } from '../mvcc/range.js';
import type { OpResult, TxnResult } from '../mvcc/txn.js';
import type { DeleteResult, PutResult } from '../mvcc/writeTxn.js';

/** MVCC results -> protocol responses, all under one header. */
export function rangeResponse(r: RangeResult, header: ResponseHeader): RangeResponse {
  return { header, kvs: r.kvs, more: r.more, count: r.count };
}

export function putResponse(r: PutResult, header: ResponseHeader): PutResponse {
  return r.prevKv === undefined ? { header } : { header, prevKv: r.prevKv };
}

export function deleteResponse(r: DeleteResult, header: ResponseHeader): DeleteRangeResponse {
  return r.prevKvs === undefined ? { header, deleted: r.deleted } : { header, deleted: r.deleted, prevKvs: r.prevKvs };
}

export function txnResponse(r: TxnResult, header: ResponseHeader): TxnResponse {
  return { header, succeeded: r.succeeded, responses: r.responses.map((op) => opResponse(op, header)) };
}

function opResponse(op: OpResult, header: ResponseHeader): ResponseOp {
  if ('range' in op) return { range: rangeResponse(op.range, header) };
  if ('put' in op) return { put: putResponse(op.put, header) };
  if ('deleteRange' in op) return { deleteRange: deleteResponse(op.deleteRange, header) };
  return { txn: txnResponse(op.txn, header) };
}
