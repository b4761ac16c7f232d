import { CairnError, ErrorCode, type KeyValue, type RangeRequest } from '@cairn/protocol';
import type { KeyIndex } from './keyIndex.js';
import { keyString, type KeyTree } from './keyTree.js';
import { mainOf, type Rev } from './revision.js';

/** What a range needs from the store: the index and a way to fetch values by revision. */
export interface RangeSource {
  readonly tree: KeyTree;
  /** The KeyValues stored at these revisions, positionally; each must exist. */
  readKvs(revs: readonly Rev[]): KeyValue[];
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

/** [start, end) as key strings; `end` undefined = to the end of the keyspace. */
export interface KeyBounds {
  readonly start: string;
  readonly end: string | undefined;
  /** A single key (rangeEnd absent or empty). */
  readonly single: boolean;
}

/**
 * etcd's conventions: rangeEnd absent or empty = the key alone; rangeEnd = [0] = every key
 * >= key (so key [0] with rangeEnd [0] is every key); otherwise [key, rangeEnd), empty when
 * rangeEnd <= key.
 */
export function keyBounds(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyBounds {
  const start = keyString(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: undefined, single: false };
  return { start, end: keyString(rangeEnd), single: false };
}

/** Calls `visit` for each key index inside the bounds, in key order; false stops. */
export function forEachKey(tree: KeyTree, b: KeyBounds, visit: (ki: KeyIndex) => boolean | void): void {
  if (b.single) {
    const ki = tree.get(b.start);
    if (ki !== undefined) visit(ki);
    return;
  }
  if (b.end !== undefined && b.end <= b.start) return;
  tree.forEachInRange(b.start, b.end, visit);
}

/** Checks a requested read revision against the store: 0 or less means `current`. */
export function resolveReadRevision(requested: bigint | undefined, current: number, compacted: number): number {
  if (requested === undefined || requested <= 0n) return current;
  const rev = mainOf(requested);
  if (requested > BigInt(current)) throw new CairnError(ErrorCode.FutureRevision);
  if (rev < compacted) {
    throw new CairnError(ErrorCode.Compacted, undefined, { compactRevision: BigInt(compacted) });
  }
  return rev;
}

const EMPTY = new Uint8Array(0);

/**
 * A Range as etcd answers it. `count` is the number of keys in the range at the revision
 * (before the min/max filters and the limit). With a limit and no sorting or filtering only
 * limit + 1 values are read; otherwise every value is read, filtered, sorted, then cut.
 * Sorting is stable, so ties keep ascending key order.
 */
export function range(src: RangeSource, req: RangeRequest, current: number, compacted: number): RangeResult {
  const at = resolveReadRevision(req.revision, current, compacted);
  const b = keyBounds(req.key, req.rangeEnd);
  const limit = req.limit ?? 0;
  const order = req.sortOrder ?? 'none';
  const target = req.sortTarget ?? 'key';
  const filtered =
    (req.minModRevision ?? 0n) !== 0n ||
    (req.maxModRevision ?? 0n) !== 0n ||
    (req.minCreateRevision ?? 0n) !== 0n ||
    (req.maxCreateRevision ?? 0n) !== 0n;
  // etcd: target key + none, and target key + ascend, are the index's own order.
  const effectiveOrder = order === 'none' && target !== 'key' ? 'ascend' : order;
  const needsSort = !(target === 'key' && (effectiveOrder === 'none' || effectiveOrder === 'ascend'));
  const fetchLimit = limit > 0 && !needsSort && !filtered ? limit + 1 : Infinity;

  const revs: Rev[] = [];
  let count = 0;
  forEachKey(src.tree, b, (ki) => {
    const r = ki.get(at);
    if (r === undefined) return;
    count++;
    if (req.countOnly !== true && revs.length < fetchLimit) revs.push(r);
  });
  if (req.countOnly === true) return { kvs: [], more: false, count };

  let kvs = src.readKvs(revs);
  if (filtered) kvs = kvs.filter(filterOf(req));
  if (needsSort) kvs.sort(comparatorOf(target, effectiveOrder === 'descend'));
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs.length = limit;
    more = true;
  }
  if (req.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { kvs, more, count };
}

function filterOf(req: RangeRequest): (kv: KeyValue) => boolean {
  const minMod = req.minModRevision ?? 0n;
  const maxMod = req.maxModRevision ?? 0n;
  const minCreate = req.minCreateRevision ?? 0n;
  const maxCreate = req.maxCreateRevision ?? 0n;
  return (kv) =>
    (minMod === 0n || kv.modRevision >= minMod) &&
    (maxMod === 0n || kv.modRevision <= maxMod) &&
    (minCreate === 0n || kv.createRevision >= minCreate) &&
    (maxCreate === 0n || kv.createRevision <= maxCreate);
}

function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

function comparatorOf(target: NonNullable<RangeRequest['sortTarget']>, descend: boolean): (a: KeyValue, b: KeyValue) => number {
  let c: (a: KeyValue, b: KeyValue) => number;
  switch (target) {
    case 'key':
      c = (a, b) => compareKeys(a.key, b.key);
      break;
    case 'value':
      c = (a, b) => compareKeys(a.value, b.value);
      break;
    case 'version':
      c = (a, b) => cmpBig(a.version, b.version);
      break;
    case 'create':
      c = (a, b) => cmpBig(a.createRevision, b.createRevision);
      break;
    case 'mod':
      c = (a, b) => cmpBig(a.modRevision, b.modRevision);
      break;
  }
  return descend ? (a, b) => c(b, a) : c;
}
