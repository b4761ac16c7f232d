import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchOp } from './backend.js';
import type { DefragProgress } from './defrag.js';
import { DataDirError } from '../backup/dataDir.js';
import { defragDataDir } from './offlineDefrag.js';
import { RocksBackend } from './rocks.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-defrag-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const enc = new TextEncoder();
const key = (i: number): Uint8Array => enc.encode(`k/${String(i).padStart(6, '0')}`);
const VALUE_BYTES = 8 * 1024;
const ROWS = 2000;

/** 16 MB of incompressible rows, then 90% of them deleted: the size stays until a defrag. */
async function fillAndDelete(db: RocksBackend): Promise<void> {
  for (let b = 0; b < ROWS / 100; b++) {
    const ops: BatchOp[] = [];
    for (let i = 0; i < 100; i++) ops.push({ type: 'put', key: key(b * 100 + i), value: randomFillSync(new Uint8Array(VALUE_BYTES)) });
    await db.write(ops, { sync: false });
  }
  const dels: BatchOp[] = [];
  for (let i = 0; i < ROWS; i++) if (i % 10 !== 0) dels.push({ type: 'del', key: key(i) });
  await db.write(dels, { sync: true });
}

function liveRows(db: RocksBackend): number {
  let rows = 0;
  for (const _ of db.scan({ gte: enc.encode('k/'), lt: enc.encode('k0') })) rows++;
  return rows;
}

describe('defrag', () => {
  it('online: gives the deleted space back, keeps every row and the writes made meanwhile', async () => {
    const dir = join(root, `db-${n++}`);
    const db = await RocksBackend.open(dir);
    try {
      await fillAndDelete(db);
      const before = db.sizeBytes();
      expect(before).toBeGreaterThan(ROWS * VALUE_BYTES * 0.9);
      // A point-in-time reader opened before keeps its view (the old copy stays open for it).
      const reader = db.reader({ gte: enc.encode('k/'), lt: enc.encode('k0') });
      const progress: DefragProgress[] = [];
      const running = db.defrag((p) => progress.push(p));
      // Writes during the defrag: journaled and replayed, or held and sent to the new copy.
      const during: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) during.push(db.write([{ type: 'put', key: enc.encode(`w/${i}`), value: enc.encode(`v${i}`) }], { sync: i % 10 === 0 }));
      const result = await running;
      await Promise.all(during);
      // The size the defrag started from: what the test read just before, give or take a
      // memtable flush that RocksDB's background thread finished between the two reads.
      expect(Math.abs(result.sizeBeforeBytes - before)).toBeLessThan(before / 5);
      expect(progress.every((p) => p.sizeBeforeBytes === result.sizeBeforeBytes)).toBe(true);
      expect(result.sizeAfterBytes).toBeLessThan(before / 4);
      expect(db.sizeBytes()).toBeLessThan(before / 4);
      expect(liveRows(db)).toBe(ROWS / 10);
      for (let i = 0; i < 50; i++) expect(new TextDecoder().decode(db.get(enc.encode(`w/${i}`)))).toBe(`v${i}`);
      expect(progress.at(-1)?.phase).toBe('switch');
      expect(db.liveDir).toBe(`${dir}.defrag`);
      expect(reader.next(10).length).toBe(10);
      reader.close();
      // Writes after the switch land in the new copy.
      await db.write([{ type: 'put', key: enc.encode('after'), value: enc.encode('x') }], { sync: true });
      // A second defrag builds into the primary slot again.
      await db.defrag();
      expect(db.liveDir).toBe(dir);
      expect(liveRows(db)).toBe(ROWS / 10);
    } finally {
      await db.close();
    }
    const again = await RocksBackend.open(dir);
    try {
      expect(liveRows(again)).toBe(ROWS / 10);
      expect(new TextDecoder().decode(again.get(enc.encode('after')))).toBe('x');
      expect(existsSync(`${dir}.defrag`)).toBe(false);
    } finally {
      await again.close();
    }
  });

  it('a swap not followed by a restart is put back at the primary path on the next open', async () => {
    const dir = join(root, `db-${n++}`);
    const db = await RocksBackend.open(dir);
    await db.write([{ type: 'put', key: key(1), value: enc.encode('one') }], { sync: true });
    await db.defrag();
    expect(db.liveDir).toBe(`${dir}.defrag`);
    await db.write([{ type: 'put', key: key(2), value: enc.encode('two') }], { sync: true });
    await db.close();
    expect(existsSync(`${dir}.defrag.live`)).toBe(true);
    const again = await RocksBackend.open(dir);
    try {
      expect(again.liveDir).toBe(dir);
      expect(existsSync(`${dir}.defrag`)).toBe(false);
      expect(existsSync(`${dir}.defrag.live`)).toBe(false);
      expect(new TextDecoder().decode(again.get(key(2)))).toBe('two');
    } finally {
      await again.close();
    }
  });

  it('offline: defragDataDir shrinks a stopped member data dir in place', async () => {
    const dataDir = join(root, `data-${n++}`);
    const dir = join(dataDir, 'member', 'db');
    mkdirSync(dir, { recursive: true });
    const db = await RocksBackend.open(dir);
    await fillAndDelete(db);
    const before = db.sizeBytes();
    // While a member holds it, the offline tool refuses.
    await expect(defragDataDir(dataDir)).rejects.toBeInstanceOf(DataDirError);
    await db.close();
    const seen: DefragProgress[] = [];
    const t0 = performance.now();
    const result = await defragDataDir(dataDir, (p) => seen.push(p));
    const ms = performance.now() - t0;
    expect(result.keys).toBeGreaterThanOrEqual(ROWS / 10);
    expect(result.sizeAfterBytes).toBeLessThan(before / 4);
    expect(seen.length).toBeGreaterThan(0);
    expect(existsSync(`${dir}.defrag`)).toBe(false);
    const again = await RocksBackend.open(dir);
    try {
      expect(liveRows(again)).toBe(ROWS / 10);
      expect(again.sizeBytes()).toBeLessThan(before / 4);
    } finally {
      await again.close();
    }
    console.log(`offline defrag: ${before} -> ${result.sizeAfterBytes} bytes, ${result.keys} rows in ${Math.round(ms)} ms`);
  });

  it('offline: a directory without a member database is a clear error', async () => {
    await expect(defragDataDir(join(root, 'nothing-here'))).rejects.toThrow(/no member database/);
  });
});
