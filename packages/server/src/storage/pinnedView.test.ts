import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from './backend.js';
import { MemoryBackend } from './memory.js';
import { RocksBackend } from './rocks.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-pin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const k = (table: string, i: number): Uint8Array => new Uint8Array([table.charCodeAt(0), 0, i]);
const v = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const range = (table: string) => ({ gte: new Uint8Array([table.charCodeAt(0)]), lt: new Uint8Array([table.charCodeAt(0) + 1]) });
const values = (rows: Iterable<readonly [Uint8Array, Uint8Array]>): string[] => [...rows].map(([, val]) => str(val)!);

const backends: [string, () => Promise<Backend>][] = [
  ['rocksdb', () => RocksBackend.open(join(root, `db${n++}`))],
  ['memory', () => Promise.resolve(new MemoryBackend())],
];

describe.each(backends)('Backend.pin (%s)', (_name, open) => {
  it('keeps reads of pinned tables at the moment of the pin while they are cleared and rewritten', async () => {
    const db = await open();
    await db.write([...Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: k('h', i), value: v(`old${i}`) })), { type: 'put', key: k('r', 0), value: v('raft-old') }], { sync: true });
    const unpin = db.pin([0x68]);
    const during = db.reader(range('h'));
    // What an install does: clear the table, copy the new rows in, across awaits.
    await db.clear(range('h'));
    await db.write([{ type: 'put', key: k('h', 3), value: v('new3') }, { type: 'put', key: k('h', 20), value: v('new20') }, { type: 'put', key: k('r', 0), value: v('raft-new') }], { sync: false });
    expect(str(db.get(k('h', 3)))).toBe('old3');
    expect(db.get(k('h', 20))).toBeUndefined();
    expect(db.getMany([k('h', 0), k('h', 20), k('r', 0)]).map(str)).toEqual(['old0', undefined, 'raft-new']);
    expect(values(db.scan(range('h')))).toEqual(Array.from({ length: 10 }, (_, i) => `old${i}`));
    expect(values(db.scan({ ...range('h'), reverse: true, limit: 3 }))).toEqual(['old9', 'old8', 'old7']);
    expect(values(db.scan({ gte: k('h', 4), lt: k('h', 7) }))).toEqual(['old4', 'old5', 'old6']);
    // Two scans interleaved with gets share the pinned iterators and still read right.
    const a = db.scan(range('h'))[Symbol.iterator]();
    const b = db.scan({ ...range('h'), reverse: true })[Symbol.iterator]();
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(str(a.next().value![1])!, str(b.next().value![1])!, str(db.get(k('h', i)))!);
    }
    expect(seen.filter((_, i) => i % 3 === 0)).toEqual(Array.from({ length: 10 }, (_, i) => `old${i}`));
    expect(seen.filter((_, i) => i % 3 === 1)).toEqual(Array.from({ length: 10 }, (_, i) => `old${9 - i}`));
    expect(a.next().done).toBe(true);
    // Tables not pinned read live.
    expect(values(db.scan(range('r')))).toEqual(['raft-new']);
    unpin();
    expect(values(db.scan(range('h')))).toEqual(['new3', 'new20']);
    expect(str(db.get(k('h', 3)))).toBe('new3');
    // A reader opened during the pin keeps its view after it.
    expect(during.next(100).map(([, val]) => str(val))).toEqual(Array.from({ length: 10 }, (_, i) => `old${i}`));
    expect(during.next(100)).toEqual([]);
    during.close();
    await db.close();
  });
});
