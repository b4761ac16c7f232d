import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SortedKeys } from './sortedKeys.js';

describe('SortedKeys', () => {
  it('behaves like a sorted array under inserts, deletes and scans', () => {
    const op = fc.oneof(
      fc.record({ ins: fc.string({ maxLength: 3 }) }),
      fc.record({ del: fc.string({ maxLength: 3 }) }),
      fc.record({ delMany: fc.array(fc.string({ maxLength: 2 }), { maxLength: 20 }) }),
      fc.record({ from: fc.string({ maxLength: 2 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 1000, size: 'max' }), fc.constantFrom(2, 4, 8, 1024), (ops, chunk) => {
        const s = new SortedKeys(chunk);
        let model: string[] = [];
        for (const o of ops) {
          if ('ins' in o) {
            if (model.includes(o.ins)) continue;
            s.insert(o.ins);
            model.push(o.ins);
            model.sort();
          } else if ('del' in o) {
            expect(s.delete(o.del)).toBe(model.includes(o.del));
            model = model.filter((k) => k !== o.del);
          } else if ('delMany' in o) {
            const set = new Set(o.delMany);
            s.deleteMany(set);
            model = model.filter((k) => !set.has(k));
          } else {
            const got: string[] = [];
            s.forEachFrom(o.from, (k) => (got.push(k), got.length < 5));
            expect(got).toEqual(model.filter((k) => k >= o.from).slice(0, 5));
            const end = o.from + 'b';
            expect(s.countInRange(o.from, end)).toBe(model.filter((k) => k >= o.from && k < end).length);
            expect(s.countInRange(o.from, undefined)).toBe(model.filter((k) => k >= o.from).length);
            expect(s.countInRange(end, o.from)).toBe(0);
          }
        }
        expect(s.toArray()).toEqual(model);
        expect(s.size).toBe(model.length);
      }),
      { numRuns: 40 },
    );
  });

  it('inserts many random keys quickly', () => {
    const s = new SortedKeys();
    const t0 = performance.now();
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      s.insert(`k${x}-${i}`);
    }
    const ms = performance.now() - t0;
    expect(s.size).toBe(200_000);
    expect(ms).toBeLessThan(3000);
    const all = s.toArray();
    let sorted = true;
    for (let i = 1; i < all.length; i++) if (!(all[i - 1]! < all[i]!)) sorted = false;
    expect(sorted).toBe(true);
  });
});
