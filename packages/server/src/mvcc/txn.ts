import type { Compare, KeyValue, RequestOp, TxnRequest } from '@cairn/protocol';
import type { Rev } from './revision.js';
import type { RangeResult } from './range.js';
import type { DeleteResult, PutResult, WriteTxn } from './writeTxn.js';

export type OpResult =
  | { readonly range: RangeResult }
  | { readonly put: PutResult }
  | { readonly deleteRange: DeleteResult }
  | { readonly txn: TxnResult };

export interface TxnResult {
  readonly succeeded: boolean;
  readonly responses: OpResult[];
}

/**
 * The branch taken by a txn and by every txn nested in that branch, decided before any write,
 * like etcd: all compares, nested ones included, see the store as it was when the txn began.
 */
interface Path {
  readonly succeeded: boolean;
  /** For each nested txn of the taken branch, in order. */
  readonly nested: Path[];
}

export function runTxn(txn: WriteTxn, req: TxnRequest): TxnResult {
  return execute(txn, req, decide(txn, req));
}

function decide(txn: WriteTxn, req: TxnRequest): Path {
  const succeeded = req.compare.every((c) => compareHolds(txn, c));
  const nested: Path[] = [];
  for (const op of succeeded ? req.success : req.failure) if ('txn' in op) nested.push(decide(txn, op.txn));
  return { succeeded, nested };
}

function execute(txn: WriteTxn, req: TxnRequest, path: Path): TxnResult {
  const ops: readonly RequestOp[] = path.succeeded ? req.success : req.failure;
  const responses: OpResult[] = [];
  let nested = 0;
  for (const op of ops) {
    if ('range' in op) responses.push({ range: txn.range(op.range) });
    else if ('put' in op) responses.push({ put: txn.put(op.put) });
    else if ('deleteRange' in op) responses.push({ deleteRange: txn.deleteRange(op.deleteRange) });
    else responses.push({ txn: execute(txn, op.txn, path.nested[nested++]!) });
  }
  return { succeeded: path.succeeded, responses };
}

const ABSENT: KeyValue = {
  key: new Uint8Array(0),
  createRevision: 0n,
  modRevision: 0n,
  version: 0n,
  value: new Uint8Array(0),
  lease: 0n,
};

/** Records read from the backend at once when a compare needs values or leases. */
const COMPARE_READ_BATCH = 64;

/**
 * A compare over a single key or a range holds if it holds for every key in it. Over no key
 * at all, a value compare fails (a missing value is not an empty one) and the others compare
 * against zero (version 0, create 0, mod 0, lease 0), as in etcd.
 *
 * Cost: the keys are walked in the index and the walk stops at the first key that fails.
 * Version, create and mod compares of a key's newest change are answered from the index
 * alone; value and lease compares (and older changes) read the records, in batches.
 */
export function compareHolds(txn: WriteTxn, c: Compare): boolean {
  let any = false;
  let ok = true;
  const fromIndex = c.target === 'version' || c.target === 'create' || c.target === 'mod';
  let batch: Rev[] = [];
  const flush = (): boolean => {
    const kvs = txn.readKvs(batch);
    batch = [];
    for (const kv of kvs) if (!holds(c, kv)) return false;
    return true;
  };
  txn.forEachVisible(c.key, c.rangeEnd, (ki, rev) => {
    any = true;
    if (fromIndex && ki.live && rev.main === ki.modified.main && rev.sub === ki.modified.sub) {
      const gen = ki.currentGeneration;
      ok = holdsNumber(c, c.target === 'version' ? gen.ver : c.target === 'create' ? gen.created : rev.main);
      return ok;
    }
    batch.push(rev);
    if (batch.length >= COMPARE_READ_BATCH) ok = flush();
    return ok;
  });
  if (ok && batch.length > 0) ok = flush();
  if (!any) return c.target === 'value' ? false : holds(c, ABSENT);
  return ok;
}

function holdsNumber(c: Compare, n: number): boolean {
  if (c.target === 'value') return false;
  return result(c, cmp(BigInt(n), c.value));
}

function holds(c: Compare, kv: KeyValue): boolean {
  let d: number;
  switch (c.target) {
    case 'value':
      d = compareBytes(kv.value, c.value);
      break;
    case 'version':
      d = cmp(kv.version, c.value);
      break;
    case 'create':
      d = cmp(kv.createRevision, c.value);
      break;
    case 'mod':
      d = cmp(kv.modRevision, c.value);
      break;
    case 'lease':
      d = cmp(kv.lease, c.value);
      break;
  }
  return result(c, d);
}

function result(c: Compare, d: number): boolean {
  switch (c.result) {
    case 'equal':
      return d === 0;
    case 'not_equal':
      return d !== 0;
    case 'greater':
      return d > 0;
    case 'less':
      return d < 0;
  }
}

const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
