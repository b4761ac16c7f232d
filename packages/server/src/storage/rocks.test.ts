import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../config/config.js';
import type { BatchOp } from './backend.js';
import { checkRocksMemory, RocksBackend, RocksOptionError } from './rocks.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-rocks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `db-${n++}`);
const key = (i: number) => new TextEncoder().encode(`k/${String(i).padStart(6, '0')}`);

describe('RocksBackend', () => {
  it('times each synced write on the writer thread (the fsync histogram), and only synced ones', async () => {
    const db = await RocksBackend.open(freshDir());
    const seen: number[] = [];
    db.onSyncedWrite = (s) => seen.push(s);
    // One small write in the ring, one too big for it (sent over the port): both timed.
    await db.write([{ type: 'put', key: key(1), value: new Uint8Array(10) }], { sync: true });
    await db.write([{ type: 'put', key: key(2), value: new Uint8Array(10) }], { sync: false });
    await db.write([{ type: 'put', key: key(3), value: randomFillSync(new Uint8Array(3 * 1024 * 1024)) }], { sync: true });
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(30);
    }
    await db.close();
  });

  it('joins writes queued behind one another into one write and one fsync, each still applied in order', async () => {
    const dir = freshDir();
    const db = await RocksBackend.open(dir);
    const seen: number[] = [];
    db.onSyncedWrite = (s) => seen.push(s);
    // The thread is busy with a big synced write while 50 small synced ones queue behind it.
    const big = db.write([{ type: 'put', key: key(0), value: randomFillSync(new Uint8Array(4 * 1024 * 1024)) }], { sync: true });
    const small: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) small.push(db.write([{ type: 'put', key: key(i), value: new Uint8Array([i]) }, { type: 'put', key: key(100), value: new Uint8Array([i]) }], { sync: true }));
    await Promise.all([big, ...small]);
    // One fsync each for far fewer writes than were asked for (most of the 50 shared one).
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.length).toBeLessThan(25);
    expect([...db.get(key(100))!]).toEqual([50]);
    await db.close();
    const again = await RocksBackend.open(dir);
    try {
      expect(again.getMany([key(1), key(50), key(100)]).map((v) => v?.[0])).toEqual([1, 50, 50]);
    } finally {
      await again.close();
    }
  });

  it('opens RocksDB compacting the files with the most deletes first (the history and the raft log are queues)', async () => {
    const dir = freshDir();
    const db = await RocksBackend.open(dir);
    await db.close();
    // RocksDB writes the options it runs with next to the data; an operator can read them there.
    const file = readdirSync(dir).find((f) => f.startsWith('OPTIONS-'));
    expect(file).toBeDefined();
    expect(readFileSync(join(dir, file!), 'utf8')).toMatch(/^\s*compaction_pri=kByCompensatedSize$/m);
    // The default memtable budget (32 MiB) in quarters: 8 MiB memtables, at most six.
    expect(readFileSync(join(dir, file!), 'utf8')).toMatch(/^\s*write_buffer_size=8388608$/m);
  });

  it('reports its size from RocksDB: it grows with written data and survives a reopen', async () => {
    const dir = freshDir();
    const db = await RocksBackend.open(dir);
    const empty = db.sizeBytes();
    expect(empty).toBeLessThan(1 << 20);
    // 4 MiB of incompressible values: what the size must account for.
    const written = 256 * 16 * 1024;
    for (let b = 0; b < 16; b++) {
      const ops: BatchOp[] = [];
      for (let i = 0; i < 16; i++) ops.push({ type: 'put', key: key(b * 16 + i), value: randomFillSync(new Uint8Array(16 * 1024)) });
      await db.write(ops, { sync: b % 2 === 0 });
    }
    expect(db.sizeBytes() - empty).toBeGreaterThanOrEqual(written);
    await db.close();
    const again = await RocksBackend.open(dir);
    try {
      expect(again.sizeBytes()).toBeGreaterThanOrEqual(written);
      expect(again.sizeBytes()).toBeLessThan(3 * written);
      expect(again.get(key(255))?.length).toBe(16 * 1024);
    } finally {
      await again.close();
    }
  });

  it('applies writes from its writer thread in call order, visible once resolved, all durable at close', async () => {
    const dir = freshDir();
    const db = await RocksBackend.open(dir);
    const k = key(1);
    // Visible once resolved (later writes may be too: the writer thread runs ahead).
    const first = db.write([{ type: 'put', key: key(9), value: new Uint8Array([9]) }], { sync: true });
    const pending: Promise<void>[] = [];
    // Many writes in flight to the same key, puts and deletes: the last call wins.
    for (let i = 0; i <= 200; i++) {
      pending.push(i % 7 === 3 ? db.write([{ type: 'del', key: k }], { sync: false }) : db.write([{ type: 'put', key: k, value: new Uint8Array([i & 255, i >> 8]) }], { sync: i % 50 === 0 }));
    }
    await first;
    expect([...db.get(key(9))!]).toEqual([9]);
    await Promise.all(pending);
    expect([...db.get(k)!]).toEqual([200, 0]);
    // A big batch (over the reused-buffer size) and a small one after it.
    const big: BatchOp[] = Array.from({ length: 160 }, (_, i) => ({ type: 'put' as const, key: key(1000 + i), value: new Uint8Array(64 * 1024).fill(i) }));
    const last = db.write([{ type: 'put', key: key(2), value: new Uint8Array([2]) }], { sync: true });
    const w = db.write(big, { sync: true });
    void db.write([{ type: 'put', key: key(3), value: new Uint8Array([3]) }], { sync: true });
    await Promise.all([last, w]);
    expect(db.get(key(1159))?.[0]).toBe(159);
    // close waits for the write still in flight.
    await db.close();
    const again = await RocksBackend.open(dir);
    try {
      expect([...again.get(key(3))!]).toEqual([3]);
      expect(again.getMany([key(1000), key(2)]).map((v) => v?.[0])).toEqual([0, 2]);
    } finally {
      await again.close();
    }
    await expect(db.write([{ type: 'put', key: k, value: new Uint8Array(1) }], { sync: false })).rejects.toThrow('rocksdb backend is closed');
  });

  it('keeps the order of more writes in flight than the shared ring holds, across two databases', async () => {
    const [one, two] = await Promise.all([RocksBackend.open(freshDir()), RocksBackend.open(freshDir())]);
    try {
      // 48 x 512 KiB = 24 MiB in flight (the ring is 8 MiB), with small writes between them.
      const order: string[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 48; i++) {
        const db = i % 2 === 0 ? one : two;
        const big = db.write([{ type: 'put', key: key(i), value: new Uint8Array(512 * 1024).fill(i) }], { sync: i % 8 === 0 });
        const small = db.write([{ type: 'put', key: key(10_000), value: new Uint8Array([i]) }], { sync: false });
        writes.push(big.then(() => void order.push(`big ${i}`)), small.then(() => void order.push(`small ${i}`)));
      }
      await Promise.all(writes);
      expect(order).toEqual(Array.from({ length: 48 }, (_, i) => [`big ${i}`, `small ${i}`]).flat());
      expect(one.get(key(46))?.[512 * 1024 - 1]).toBe(46);
      expect(two.get(key(47))?.[0]).toBe(47);
      expect([...one.get(key(10_000))!]).toEqual([46]);
      expect([...two.get(key(10_000))!]).toEqual([47]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('opens with explicit memory bounds and refuses bad ones with a clear error', async () => {
    const db = await RocksBackend.open(freshDir(), { blockCacheBytes: 0, memtableBudgetBytes: 4 << 20 });
    try {
      await db.write([{ type: 'put', key: key(1), value: new Uint8Array([1]) }], { sync: true });
      expect([...db.get(key(1))!]).toEqual([1]);
      expect(db.memoryBytes().blockCache).toBe(0);
    } finally {
      await db.close();
    }
    await expect(RocksBackend.open(freshDir(), { blockCacheBytes: -1, memtableBudgetBytes: 64 << 20 })).rejects.toThrow(RocksOptionError);
    expect(() => checkRocksMemory({ blockCacheBytes: 2 ** 32, memtableBudgetBytes: 64 << 20 })).toThrow(
      'rocksdb-block-cache-bytes must be an integer from 0 (no cache) to 4294967295, got 4294967296',
    );
    expect(() => checkRocksMemory({ blockCacheBytes: 1 << 20, memtableBudgetBytes: 1.5 })).toThrow('rocksdb-memtable-budget-bytes must be an integer from 4194304');
    // Through the server config: a ConfigError naming the setting.
    expect(resolveConfig({}).rocksdbMemory).toEqual({ blockCacheBytes: 32 << 20, memtableBudgetBytes: 32 << 20 });
    expect(() => resolveConfig({ rocksdbMemtableBudgetBytes: 1 })).toThrow(ConfigError);
    expect(() => resolveConfig({ rocksdbBlockCacheBytes: Number.NaN })).toThrow('rocksdb-block-cache-bytes must be an integer');
  });
});
