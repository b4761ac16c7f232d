import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/client';
import { checkTarget, describeTarget, rolloutBucket, selects } from './rollout.js';

describe('rollout targets', () => {
  it('accepts exactly one of ids, labels, percent', () => {
    expect(checkTarget({ ids: ['a', 'b', 'a'] })).toEqual({ ids: ['a', 'b'] });
    expect(checkTarget({ labels: { zone: 'a' } })).toEqual({ labels: { zone: 'a' } });
    expect(checkTarget({ percent: 0 })).toEqual({ percent: 0 });
    expect(checkTarget({ percent: 100 })).toEqual({ percent: 100 });
  });

  it.each([
    [{}, /exactly one of ids, labels or percent \(got none\)/],
    [{ ids: ['a'], percent: 5 }, /got ids, percent/],
    [{ ids: [] }, /ids must be a non-empty list/],
    [{ ids: ['a/b'] }, /bad instance id "a\/b"/],
    [{ labels: {} }, /at least one label/],
    [{ labels: { zone: 1 } }, /bad label "zone"=1/],
    [{ percent: 101 }, /whole number from 0 to 100, not 101/],
    [{ percent: 12.5 }, /not 12.5/],
    [{ percent: '10' }, /not "10"/],
    [null, /give one of/],
  ])('refuses %j with invalid_argument', (target, message) => {
    expect(() => checkTarget(target)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(message) }));
  });

  it('selects by id, by every label, by stable bucket', () => {
    expect(selects({ ids: ['a', 'b'] }, { id: 'b' })).toBe(true);
    expect(selects({ ids: ['a', 'b'] }, { id: 'c' })).toBe(false);
    expect(selects({ labels: { zone: 'a', tier: 'web' } }, { id: 'x', labels: { zone: 'a', tier: 'web', extra: '1' } })).toBe(true);
    expect(selects({ labels: { zone: 'a', tier: 'web' } }, { id: 'x', labels: { zone: 'a' } })).toBe(false);
    expect(selects({ percent: 0 }, { id: 'x' })).toBe(false);
    expect(selects({ percent: 100 }, { id: 'x' })).toBe(true);
    expect(describeTarget({ labels: { zone: 'a', tier: 'web' } })).toBe('labels zone=a,tier=web');
  });

  it('buckets are fixed per id, spread evenly, and a wider percentage only adds instances', () => {
    // FNV-1a 32 of "a" is 0xe40c292c = 3826002220.
    expect(rolloutBucket('a')).toBe(3826002220 % 100);
    const ids = Array.from({ length: 10_000 }, (_, i) => `instance-${i}`);
    const in10 = ids.filter((id) => selects({ percent: 10 }, { id }));
    const in50 = new Set(ids.filter((id) => selects({ percent: 50 }, { id })));
    expect(in10.length).toBeGreaterThan(800);
    expect(in10.length).toBeLessThan(1200);
    expect(in50.size).toBeGreaterThan(4700);
    expect(in50.size).toBeLessThan(5300);
    for (const id of in10) expect(in50.has(id)).toBe(true);
  });
});
