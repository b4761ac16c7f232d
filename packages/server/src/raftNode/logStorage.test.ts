import { describe, expect, it } from 'vitest';
import { isStorageError, type Entry } from '@cairn/raft';
import { MemoryBackend } from '../storage/memory.js';
import { RocksBackend } from '../storage/rocks.js';
import type { Backend } from '../storage/backend.js';
import { tempDir } from '../testing/harness.js';
import { LogStorage } from './logStorage.js';

const conf = { voters: [1n, 2n, 3n], learners: [] };
const ent = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(data) });
const text = (e: Entry): string => new TextDecoder().decode(e.data);

async function persist(backend: Backend, log: LogStorage, entries: Entry[]): Promise<void> {
  await backend.write(log.append(entries), { sync: true });
  log.appendPersisted(entries);
}

async function based(backend: Backend): Promise<LogStorage> {
  const log = LogStorage.load(backend);
  const base = { index: 1, term: 1, confState: conf };
  await backend.write([...log.restore(base), ...log.setHardState({ term: 1, vote: 0n, commit: 1 })], { sync: true });
  log.restorePersisted(base);
  log.hardStatePersisted({ term: 1, vote: 0n, commit: 1 });
  return log;
}

describe('raft log storage', () => {
  it('appends, truncates a conflicting suffix and reloads the same log from RocksDB', async () => {
    const dir = tempDir();
    try {
      let backend: Backend = await RocksBackend.open(dir.dir);
      let log = await based(backend);
      await persist(backend, log, [ent(2, 1), ent(3, 1), ent(4, 1), ent(5, 1)]);
      // A new leader overwrites 4.. with its own entries.
      await persist(backend, log, [ent(4, 2, 'x4')]);
      expect(log.lastIndex()).toBe(4);
      expect(log.entries(2, 5, Infinity).map((e) => [e.index, e.term, text(e)])).toEqual([
        [2, 1, 'e2'],
        [3, 1, 'e3'],
        [4, 2, 'x4'],
      ]);
      await backend.write(log.setHardState({ term: 2, vote: 7n, commit: 3 }), { sync: true });
      await backend.close();
      backend = await RocksBackend.open(dir.dir);
      log = LogStorage.load(backend, 1); // a tiny cache: reads come from disk
      expect(log.initialState()).toEqual({ hardState: { term: 2, vote: 7n, commit: 3 }, confState: conf });
      expect([log.firstIndex(), log.lastIndex(), log.term(1), log.term(4)]).toEqual([2, 4, 1, 2]);
      expect(log.entries(2, 5, Infinity).map(text)).toEqual(['e2', 'e3', 'x4']);
      await backend.close();
    } finally {
      dir.cleanup();
    }
  });

  it('reads below the base are compacted, beyond the end unavailable; maxBytes keeps at least one', async () => {
    const backend = new MemoryBackend();
    const log = await based(backend);
    await persist(backend, log, [ent(2, 1, 'a'.repeat(100)), ent(3, 1, 'b'.repeat(100)), ent(4, 1, 'c'.repeat(100))]);
    expect(() => log.entries(1, 3, Infinity)).toThrow(expect.objectContaining({ code: 'compacted' }));
    expect(() => log.term(0)).toThrow(expect.objectContaining({ code: 'compacted' }));
    expect(() => log.entries(2, 6, Infinity)).toThrow(expect.objectContaining({ code: 'unavailable' }));
    let thrown: unknown;
    try {
      log.term(9);
    } catch (e) {
      thrown = e;
    }
    expect(isStorageError(thrown, 'unavailable')).toBe(true);
    expect(log.entries(2, 5, 1).map((e) => e.index)).toEqual([2]);
    expect(log.entries(2, 5, 250).map((e) => e.index)).toEqual([2, 3]);
  });

  it('compacts to the previous snapshot point, so the entries since it stay for lagging followers', async () => {
    const backend = new MemoryBackend();
    const log = await based(backend);
    await persist(backend, log, Array.from({ length: 20 }, (_, i) => ent(i + 2, 1)));
    const at10 = { index: 10, term: 1, confState: conf };
    let r = log.snapshotAt(at10);
    expect(r.compactTo).toBeUndefined(); // the first point: nothing to drop yet
    await backend.write(r.ops, { sync: true });
    log.snapshotPersisted(at10, r.compactTo);
    const at20 = { index: 20, term: 1, confState: conf };
    r = log.snapshotAt(at20);
    expect(r.compactTo).toEqual(at10);
    await backend.write(r.ops, { sync: true });
    log.snapshotPersisted(at20, r.compactTo);
    await log.clearBelowBase();
    expect([log.firstIndex(), log.lastIndex()]).toEqual([11, 21]);
    expect(log.snapshot().metadata).toEqual(at10);
    // What is on disk agrees after a reload.
    const again = LogStorage.load(backend);
    expect([again.firstIndex(), again.lastIndex(), again.term(10)]).toEqual([11, 21, 1]);
    expect(again.entries(11, 22, Infinity)).toHaveLength(11);
  });

  it('restores to a leader snapshot: the whole log is replaced', async () => {
    const backend = new MemoryBackend();
    const log = await based(backend);
    await persist(backend, log, [ent(2, 1), ent(3, 1)]);
    const snap = { index: 50, term: 4, confState: { voters: [1n, 2n], learners: [3n] } };
    await backend.write(log.restore(snap), { sync: true });
    log.restorePersisted(snap);
    await log.clearBelowBase();
    expect([log.firstIndex(), log.lastIndex(), log.term(50)]).toEqual([51, 50, 4]);
    expect(LogStorage.load(backend).initialState().confState).toEqual(snap.confState);
    await persist(backend, log, [ent(51, 4)]);
    expect(LogStorage.load(backend).lastIndex()).toBe(51);
  });
});
