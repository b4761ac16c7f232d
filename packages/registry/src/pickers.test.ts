import { describe, expect, it } from 'vitest';
import { createPicker } from './pickers.js';
import { makeInstance, parseInstance } from './instance.js';

const inst = (id: string, weight = 1) => makeInstance({ service: 's', id, address: 'h', port: 1, weight });

/** A fixed sequence of "random" numbers. */
function seq(...xs: number[]): () => number {
  let i = 0;
  return () => xs[i++ % xs.length]!;
}

describe('pickers', () => {
  it('round-robin cycles and copes with the set shrinking', () => {
    const p = createPicker('round-robin');
    const three = [inst('a'), inst('b'), inst('c')];
    expect([p.pick(three), p.pick(three), p.pick(three), p.pick(three)].map((i) => i!.id)).toEqual(['a', 'b', 'c', 'a']);
    expect(p.pick([inst('a')])!.id).toBe('a');
    expect(p.pick([])).toBeUndefined();
  });

  it('weighted splits [0, total) by weight and never picks weight 0 while others can be', () => {
    const xs = [inst('a', 1), inst('zero', 0), inst('c', 3)];
    // total 4: [0,1) -> a, [1,4) -> c
    const p = createPicker('weighted', seq(0, 0.24, 0.25, 0.99));
    expect([p.pick(xs), p.pick(xs), p.pick(xs), p.pick(xs)].map((i) => i!.id)).toEqual(['a', 'a', 'c', 'c']);
    const allZero = [inst('x', 0), inst('y', 0)];
    expect(createPicker('weighted', seq(0.6)).pick(allZero)!.id).toBe('y');
    expect(createPicker('weighted').pick([])).toBeUndefined();
  });

  it('random indexes uniformly', () => {
    const xs = [inst('a'), inst('b')];
    expect(createPicker('random', seq(0.49)).pick(xs)!.id).toBe('a');
    expect(createPicker('random', seq(0.5)).pick(xs)!.id).toBe('b');
  });

  it('refuses an unknown strategy', () => {
    expect(() => createPicker('fastest' as 'random')).toThrow(/unknown pick strategy/);
  });
});

describe('instances', () => {
  it('round-trips through JSON and checks the key', () => {
    const i = makeInstance({ service: 'pay', id: 'p1', address: '10.0.0.1', port: 80, metadata: { zone: 'a' } });
    expect(parseInstance('services/pay/p1', JSON.stringify(i))).toEqual(i);
    expect(() => parseInstance('services/pay/other', JSON.stringify(i))).toThrow(/do not match the key/);
  });

  it('names what is wrong with a malformed value', () => {
    expect(() => parseInstance('k', 'nope')).toThrow(/k: not JSON/);
    expect(() => parseInstance('k', '[1]')).toThrow(/k: not a JSON object/);
    expect(() => parseInstance('k', '{"address":"h","port":1}')).toThrow(/service must be/);
    expect(() => parseInstance('services/s/x', '{"service":"s","id":"x","address":"h","port":"80"}')).toThrow(/port must be an integer/);
    expect(() => makeInstance({ service: 's', id: 'x', address: 'h', port: 1, weight: -1 })).toThrow(/weight/);
    expect(() => makeInstance({ service: 's', id: 'x\n', address: 'h', port: 1 })).toThrow(/id must be/);
  });
});

describe('health', () => {
  const withStatus = (id: string, status: 'passing' | 'warning' | 'critical', weight = 1) => ({ ...inst(id, weight), status });

  it('pickers never choose a critical instance; warning ones are chosen', () => {
    const list = [withStatus('a', 'critical'), withStatus('b', 'warning'), withStatus('c', 'passing', 5)];
    const rr = createPicker('round-robin');
    expect([1, 2, 3, 4].map(() => rr.pick(list)!.id)).toEqual(['b', 'c', 'b', 'c']);
    expect(createPicker('weighted', seq(0, 0.5, 0.99)).pick(list)!.id).toBe('b');
    expect(createPicker('random', seq(0)).pick(list)!.id).toBe('b');
    expect(createPicker('round-robin').pick([withStatus('a', 'critical')])).toBeUndefined();
    expect(createPicker('weighted').pick([withStatus('a', 'critical')])).toBeUndefined();
  });

  it('a record without status reads as passing with no checks; one with them keeps them; a bad status is refused', () => {
    const old = '{"service":"s","id":"x","address":"h","port":1,"metadata":{},"weight":1,"registeredAt":"2026-12-01T00:00:00.000Z"}';
    expect(parseInstance('services/s/x', old)).toMatchObject({ status: 'passing', checks: [] });
    const checked = JSON.stringify({ ...JSON.parse(old), status: 'critical', checks: [{ name: 'http http://h/', status: 'critical', output: 'HTTP 503' }] });
    expect(parseInstance('services/s/x', checked)).toMatchObject({ status: 'critical', checks: [{ name: 'http http://h/', status: 'critical', output: 'HTTP 503' }] });
    expect(() => parseInstance('services/s/x', JSON.stringify({ ...JSON.parse(old), status: 'down' }))).toThrow(/status must be passing, warning or critical/);
    expect(() => parseInstance('services/s/x', JSON.stringify({ ...JSON.parse(old), checks: [{ name: 1 }] }))).toThrow(/checks\[0\]/);
  });
});
