import { CairnError, ErrorCode, type RequestOp } from '@cairn/protocol';
import { keyBounds, type KeyBounds } from './range.js';
import { keyString } from './keyTree.js';

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
