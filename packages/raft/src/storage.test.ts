import { describe, expect, it } from 'vitest';
import { isStorageError } from './errors.js';
import { RaftLog } from './log.js';
import { MemoryStorage } from './storage.js';
import type { Entry } from './types.js';

const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array(8) });
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    if (isStorageError(e)) return e.code;
    throw e;
  }
  return undefined;
};

describe('MemoryStorage', () => {
  it('appends, truncates conflicting suffixes and reports compacted/unavailable ranges', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2)]);
    s.append([ent(3, 3), ent(4, 3)]);
    expect([s.firstIndex(), s.lastIndex(), s.term(3)]).toEqual([1, 4, 3]);
    s.createSnapshot(2, { voters: [1n], learners: [] }, new Uint8Array([7]));
    s.compact(2);
    expect([s.firstIndex(), s.term(2)]).toEqual([3, 1]);
    expect(code(() => s.term(1))).toBe('compacted');
    expect(code(() => s.entries(2, 4, 100))).toBe('compacted');
    expect(code(() => s.entries(3, 6, 100))).toBe('unavailable');
    expect(s.entries(3, 5, 1).length).toBe(1); // size limit keeps at least one entry
    expect(code(() => s.createSnapshot(1, { voters: [], learners: [] }, new Uint8Array()))).toBe('snapOutOfDate');
  });
});

describe('RaftLog', () => {
  it('merges appended entries, truncating only uncommitted conflicts', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    const log = new RaftLog(s);
    log.commitTo(1);
    expect(log.maybeAppend(1, 1, 3, [ent(2, 1), ent(3, 2), ent(4, 2)])).toEqual({ lastNew: 4, conflict: 3 });
    expect(log.committed).toBe(3);
    expect([log.term(2), log.term(3), log.term(4)]).toEqual([1, 2, 2]);
    expect(log.maybeAppend(4, 9, 4, [])).toBeUndefined();
    expect(() => log.maybeAppend(1, 1, 3, [ent(2, 5)])).toThrow(/conflicts with committed/);
  });
  it('slices across stable and unstable entries and finds terms for back-off', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1)]);
    const log = new RaftLog(s);
    log.append([ent(3, 2), ent(4, 2), ent(5, 4)]);
    expect(log.slice(1, 6, 1000).map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(log.lastIndexOfTerm(2, 5)).toBe(4);
    expect(log.lastIndexOfTerm(3, 5)).toBeUndefined();
    expect(log.firstIndexOfTermAt(4, 0)).toBe(3);
    expect(log.isUpToDate(5, 4)).toBe(true);
    expect(log.isUpToDate(9, 3)).toBe(false);
  });
});
