import { describe, expect, it } from 'vitest';
import { compareBytes, prefixEnd, toBytes } from './bytes.js';

describe('prefixEnd', () => {
  it('increments the last byte below 0xff', () => {
    expect([...prefixEnd(toBytes('foo'))]).toEqual([...toBytes('fop')]);
    expect([...prefixEnd(new Uint8Array([1, 0xff, 0xff]))]).toEqual([2]);
  });
  it('runs to the end of the keyspace for all-0xff or empty prefixes', () => {
    expect([...prefixEnd(new Uint8Array([0xff]))]).toEqual([0]);
    expect([...prefixEnd(new Uint8Array([]))]).toEqual([0]);
  });
  it('sorts keys as unsigned bytes', () => {
    expect(compareBytes(new Uint8Array([0x80]), new Uint8Array([0x7f]))).toBeGreaterThan(0);
    expect(compareBytes(toBytes('a'), toBytes('ab'))).toBeLessThan(0);
  });
});
