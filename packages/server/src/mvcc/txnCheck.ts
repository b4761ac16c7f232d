import { CairnError, ErrorCode, type RequestOp, type TxnRequest } from '@cairn/protocol';
import { keyBounds, type KeyBounds } from './range.js';
import { keyString, type KeyTree } from './keyTree.js';

/** Number of operations in a txn branch list, nested txns' ops (both branches) included. */
export function countOps(ops: readonly RequestOp[]): number {
  let n = 0;
  for (const op of ops) {
    n++;
    if ('txn' in op) n += countOps(op.txn.success) + countOps(op.txn.failure);
  }
  return n;
}

interface Writes {
  /** Keys put (as key strings). */
  readonly puts: Set<string>;
  /** Ranges deleted. */
  readonly dels: KeyBounds[];
}

const inside = (k: string, b: KeyBounds): boolean =>
  b.single ? k === b.start : k >= b.start && (b.end === undefined || k < b.end);

/**
 * Refuses a branch that could write one key twice, like etcd: a key put twice, or put and
 * deleted, in the same branch or in the branches of txns nested in it. The two branches of
 * one nested txn exclude each other, so the same key may be put in both. Overlapping deletes
 * are allowed. Throws CairnError(duplicate_key).
 */
export function checkDuplicateKeys(ops: readonly RequestOp[]): void {
  collect(ops);
}

function collect(ops: readonly RequestOp[]): Writes {
  const dels: KeyBounds[] = [];
  for (const op of ops) if ('deleteRange' in op) dels.push(keyBounds(op.deleteRange.key, op.deleteRange.rangeEnd));
  const puts = new Set<string>();
  const dup = (): never => {
    throw new CairnError(ErrorCode.DuplicateKey);
  };
  // Deletes of this level and of the nested txns seen so far.
  const deletedHere = (k: string): boolean => {
    for (const d of dels) if (inside(k, d)) return true;
    return false;
  };
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = collect(op.txn.success);
    const otherwise = collect(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deletedHere(k)) dup();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || deletedHere(k)) dup();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    const k = keyString(op.put.key);
    if (puts.has(k)) dup();
    for (const d of dels) if (inside(k, d)) dup();
    puts.add(k);
  }
  return { puts, dels };
}

/**
 * An upper bound on the keys the compares of `txn` visit, counted in `tree` (the index, as it
 * is now): every compare of the txn and of every txn nested in either branch, a single-key
 * compare as 1 and a range compare as the keys the index holds in its range (at least 1).
 * Costs a binary search per compare, whatever the ranges hold.
 */
export function compareKeysUpperBound(tree: KeyTree, txn: TxnRequest): number {
  let total = 0;
  const pending: TxnRequest[] = [txn];
  while (pending.length > 0) {
    const t = pending.pop()!;
    for (const c of t.compare) {
      const b = keyBounds(c.key, c.rangeEnd);
      total += b.single ? 1 : Math.max(1, tree.countInRange(b.start, b.end));
    }
    for (const op of t.success) if ('txn' in op) pending.push(op.txn);
    for (const op of t.failure) if ('txn' in op) pending.push(op.txn);
  }
  return total;
}

/**
 * Refuses a txn whose compares could visit more than `maxCompareKeys` keys (too_many_ops,
 * with the limit and the count in the details). Checked where the request enters, before
 * it is proposed: the applier stays free of member-local settings.
 */
export function checkCompareKeys(tree: KeyTree, txn: TxnRequest, maxCompareKeys: number): void {
  const n = compareKeysUpperBound(tree, txn);
  if (n > maxCompareKeys) {
    throw new CairnError(
      ErrorCode.TooManyOps,
      `too many keys to compare: this txn's compares would visit more than ${maxCompareKeys} keys (--max-txn-compare-keys); compare fewer or narrower ranges`,
      { maxTxnCompareKeys: maxCompareKeys, compareKeys: n },
    );
  }
}
