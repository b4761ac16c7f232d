import { describe, expect, it } from 'vitest';
import { majorityCommittedIndex, majorityVoteResult } from './majority.js';

describe('quorum maths', () => {
  const acked = (m: Record<string, number>) => (id: bigint) => m[String(id)];
  it('the commit index is the largest index stored on a majority', () => {
    expect(majorityCommittedIndex([1n, 2n, 3n], acked({ 1: 5, 2: 3, 3: 1 }))).toBe(3);
    expect(majorityCommittedIndex([1n, 2n, 3n, 4n], acked({ 1: 5, 2: 3, 3: 1, 4: 9 }))).toBe(3);
    expect(majorityCommittedIndex([1n, 2n, 3n, 4n, 5n], acked({ 1: 5, 2: 3 }))).toBe(0);
    expect(majorityCommittedIndex([], acked({}))).toBe(0);
  });
  it('an election is won by a majority and lost once a majority is out of reach', () => {
    const v = (m: Record<string, boolean>) => (id: bigint) => m[String(id)];
    expect(majorityVoteResult([1n, 2n, 3n], v({ 1: true, 2: true }))).toBe('won');
    expect(majorityVoteResult([1n, 2n, 3n], v({ 1: true, 2: false }))).toBe('pending');
    expect(majorityVoteResult([1n, 2n, 3n], v({ 1: false, 2: false }))).toBe('lost');
  });
});
