import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Compare, KeyValue } from '@cairn/protocol';
import { MemoryBackend } from '../storage/memory.js';
import { MvccStore } from './store.js';
import { compareHolds } from './txn.js';
import { KeyTree } from './keyTree.js';
import { compareKeysUpperBound } from './txnCheck.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');

/** The definition: read the range, then every key must satisfy the compare. */
function naive(store: MvccStore, c: Compare): boolean {
  const { kvs } = store.range(c.rangeEnd === undefined ? { key: c.key } : { key: c.key, rangeEnd: c.rangeEnd });
  const field = (kv: KeyValue): bigint | Uint8Array =>
    c.target === 'value' ? kv.value : c.target === 'version' ? kv.version : c.target === 'create' ? kv.createRevision : c.target === 'mod' ? kv.modRevision : kv.lease;
  const one = (kv: KeyValue | undefined): boolean => {
    const v = kv === undefined ? 0n : field(kv);
    let d: number;
    if (v instanceof Uint8Array) d = Buffer.compare(Buffer.from(v), Buffer.from(c.value as Uint8Array));
    else d = v < (c.value as bigint) ? -1 : v > (c.value as bigint) ? 1 : 0;
    return c.result === 'equal' ? d === 0 : c.result === 'not_equal' ? d !== 0 : c.result === 'greater' ? d > 0 : d < 0;
  };
  if (kvs.length === 0) return c.target === 'value' ? false : one(undefined);
  return kvs.every(one);
}

describe('compareHolds', () => {
  it('agrees with reading the range and checking every key, over random histories', () => {
    const op = fc.oneof(
      fc.record({ put: key, value: fc.constantFrom('x', 'y'), lease: fc.constantFrom(0n, 7n) }),
      fc.record({ del: key }),
      fc.record({ compact: fc.constant(true) }),
    );
    const cmp = fc.record({
      key,
      end: fc.option(fc.constantFrom('c', 'f', '\0'), { nil: undefined }),
      target: fc.constantFrom('value', 'version', 'create', 'mod', 'lease'),
      result: fc.constantFrom('equal', 'not_equal', 'greater', 'less'),
      n: fc.integer({ min: 0, max: 12 }),
      v: fc.constantFrom('x', 'y', 'w'),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(cmp, { minLength: 1, maxLength: 20 }), (ops, cmps) => {
        const store = MvccStore.load(new MemoryBackend());
        for (const o of ops) {
          if ('put' in o) store.write((t) => t.put({ key: enc(o.put), value: enc(o.value), lease: o.lease }));
          else if ('del' in o) store.write((t) => t.deleteRange({ key: enc(o.del) }));
          else if (store.currentRevision > 1) {
            try {
              store.compact(store.currentRevision);
            } catch {
              // Already compacted at this revision.
            }
          }
        }
        for (const c of cmps) {
          const base = { key: enc(c.key), result: c.result, ...(c.end !== undefined ? { rangeEnd: enc(c.end) } : {}) };
          const compare = (c.target === 'value' ? { ...base, target: 'value', value: enc(c.v) } : { ...base, target: c.target, value: BigInt(c.n) }) as Compare;
          const got = store.write((t) => compareHolds(t, compare));
          expect(got).toBe(naive(store, compare));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('compareKeysUpperBound', () => {
  it('counts a single key as one and a range as the keys the index holds in it', () => {
    const tree = new KeyTree();
    for (let i = 0; i < 3000; i++) tree.getOrCreate(`k${String(i).padStart(4, '0')}`, enc(`k${String(i).padStart(4, '0')}`));
    const c = (k: string, end?: string): Compare => ({ key: enc(k), ...(end !== undefined ? { rangeEnd: enc(end) } : {}), target: 'version', result: 'greater', value: 0n });
    const txn = {
      compare: [c('k0001'), c('k1000', 'k2000'), c('\0', '\0')],
      success: [{ txn: { compare: [c('z', 'zz'), c('k2999', 'k3')], success: [], failure: [] } }],
      failure: [{ txn: { compare: [c('k0000', 'k0010')], success: [], failure: [] } }],
    };
    // 1 + 1000 + 3000, then the nested ones: an empty range still costs 1, 1 key, 10 keys.
    expect(compareKeysUpperBound(tree, txn)).toBe(1 + 1000 + 3000 + 1 + 1 + 10);
  });
});
