import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RocksBackend } from '../storage/rocks.js';
import { MvccStore } from '../mvcc/store.js';
import { historyKey, metaKey, MetaKey } from '../storage/keyspace.js';
import { encodeValue } from '@cairn/protocol';
import { snapshotSource } from './source.js';
import { SnapshotFile } from './fileReader.js';
import { snapshotStatus } from './status.js';
import { hashKvOfDataDir } from './hashKv.js';
import { restoreSnapshot } from './restore.js';
import { dbDirOf } from './dataDir.js';
import { encodeEndBlock, encodePreamble, encodeRowsBlock, SnapshotFileError, SnapshotProblem, type SnapshotHeader } from './format.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-snapfile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const header: SnapshotHeader = { clusterId: 7n, memberId: 9n, createdAtMs: 1_700_000_000_000, serverVersion: 'test' };
let n = 0;
const path = (name: string): string => join(root, `${name}-${n++}`);

/** A data dir (member/db under it) holding `puts` key changes written through the MVCC store. */
async function dataDir(puts: number): Promise<{ dir: string; backend: RocksBackend; store: MvccStore }> {
  const dir = path('data');
  const backend = await RocksBackend.open(dbDirOf(dir));
  const store = MvccStore.load(backend);
  for (let i = 0; i < puts; i++) store.write((t) => t.put({ key: enc(`k${i % 7}`), value: enc(`v${i}`) }));
  const batch = store.drain();
  await backend.write(batch.ops, { sync: true });
  store.release(batch);
  return { dir, backend, store };
}

/** Every piece of the source, concatenated into a file. */
function save(source: ReturnType<typeof snapshotSource>, file: string): Buffer {
  const parts: Uint8Array[] = [];
  for (let p = source.next(); p !== undefined; p = source.next()) parts.push(p.bytes);
  const bytes = Buffer.concat(parts);
  writeFileSync(file, bytes);
  return bytes;
}

/** A file made of `body`, with a correct SHA-256 trailer (so only the structure is wrong). */
function withTrailer(file: string, ...body: Uint8Array[]): string {
  const b = Buffer.concat(body);
  writeFileSync(file, Buffer.concat([b, createHash('sha256').update(b).digest()]));
  return file;
}

function problemOf(fn: () => unknown): { problem: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotFileError);
    return { problem: (err as SnapshotFileError).problem, message: (err as Error).message };
  }
  throw new Error('expected a SnapshotFileError');
}

const rowsOf = (file: string): (readonly [Uint8Array, Uint8Array])[] => {
  const f = SnapshotFile.open(file);
  try {
    return [...f.rows()];
  } finally {
    f.close();
  }
};

describe('snapshot file', () => {
  it('holds the state tables as they were when the source opened, whatever is written after', async () => {
    const { backend, store } = await dataDir(50);
    const expected = [...backend.scan({ gte: new Uint8Array([0x61]), lt: new Uint8Array([0x79]) })].filter(([k]) => k[0] === 0x68 || k[0] === 0x6d);
    const source = snapshotSource(backend, header);
    // Written after the view was taken: not in the file.
    store.write((t) => t.put({ key: enc('late'), value: enc('x') }));
    const late = store.drain();
    await backend.write(late.ops, { sync: true });
    const file = path('snap');
    const bytes = save(source, file);
    const rows = rowsOf(file);
    expect(rows.map(([k]) => Buffer.from(k).toString('hex'))).toEqual(expected.map(([k]) => Buffer.from(k).toString('hex')));
    const st = snapshotStatus(file);
    expect(st.revision).toBe(51n);
    expect(st.historyRecords).toBe(50);
    expect(st.totalKey).toBe(rows.length);
    expect(st.totalSize).toBe(bytes.length);
    expect(st.sha256).toBe(createHash('sha256').update(bytes.subarray(0, -32)).digest('hex'));
    expect(st.clusterId).toBe(7n);
    expect(st.memberId).toBe(9n);
    await backend.close();
  });

  it('restores into a data dir whose hashkv equals the source data dir at the snapshot revision', async () => {
    const { dir, backend } = await dataDir(30);
    const file = path('snap');
    save(snapshotSource(backend, header), file);
    await backend.close();
    const target = path('restored');
    const r = await restoreSnapshot(file, {
      name: 'a',
      dataDir: target,
      initialCluster: 'a=http://127.0.0.1:1,b=http://127.0.0.1:2',
      initialClusterToken: 'tok',
      initialAdvertisePeerUrls: ['http://127.0.0.1:1'],
    });
    expect(r.revision).toBe(31n);
    expect(r.members.map((m) => m.name).sort()).toEqual(['a', 'b']);
    const [src, dst] = [await hashKvOfDataDir(dir, 31n), await hashKvOfDataDir(target, 31n)];
    expect(dst).toEqual(src);
    // --bump-revision with --mark-compacted: the revision moves on and older ones are compacted.
    const bumped = path('bumped');
    const b = await restoreSnapshot(file, {
      name: 'a',
      dataDir: bumped,
      initialCluster: 'a=http://127.0.0.1:1',
      initialClusterToken: 'tok',
      initialAdvertisePeerUrls: ['http://127.0.0.1:1'],
      bumpRevision: 100,
      markCompacted: true,
    });
    expect([b.revision, b.compactRevision]).toEqual([131n, 131n]);
    await expect(hashKvOfDataDir(bumped, 31n)).rejects.toMatchObject({ code: 'compacted' });
    expect((await hashKvOfDataDir(bumped)).hashRevision).toBe(131n);
  });

  it('refuses restore settings that cannot make a member, before writing anything', async () => {
    const { backend } = await dataDir(3);
    const file = path('snap');
    save(snapshotSource(backend, header), file);
    await backend.close();
    const base = { name: 'a', dataDir: path('x'), initialCluster: 'a=http://127.0.0.1:1', initialClusterToken: 't', initialAdvertisePeerUrls: ['http://127.0.0.1:1'] };
    await expect(restoreSnapshot(file, { ...base, name: 'zz' })).rejects.toThrow(/couldn't find local name "zz"/);
    await expect(restoreSnapshot(file, { ...base, initialAdvertisePeerUrls: ['http://127.0.0.1:9'] })).rejects.toThrow(/differ/);
    await expect(restoreSnapshot(file, { ...base, bumpRevision: 5 })).rejects.toThrow(/--mark-compacted is required/);
    await expect(restoreSnapshot(file, { ...base, markCompacted: true })).rejects.toThrow(/needs --bump-revision/);
    const used = path('used');
    await restoreSnapshot(file, { ...base, dataDir: used });
    await expect(restoreSnapshot(file, { ...base, dataDir: used })).rejects.toThrow(/exists and is not empty/);
  });

  it('names what is wrong with a damaged file', async () => {
    const { backend } = await dataDir(20);
    const good = path('good');
    const bytes = save(snapshotSource(backend, header), good);
    await backend.close();

    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(path('flip'), flipped);
    expect(problemOf(() => SnapshotFile.open(join(root, `flip-${n - 1}`))).problem).toBe(SnapshotProblem.ChecksumMismatch);

    const cut = path('cut');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const c = problemOf(() => SnapshotFile.open(cut));
    expect(c.problem).toBe(SnapshotProblem.ChecksumMismatch);
    expect(c.message).toContain(cut);

    const magic = path('magic');
    writeFileSync(magic, Buffer.concat([Buffer.from('NOTASNAP'), bytes.subarray(8)]));
    expect(problemOf(() => SnapshotFile.open(magic)).problem).toBe(SnapshotProblem.BadMagic);

    const v2 = Buffer.from(bytes);
    v2.writeUInt32BE(2, 8);
    const ver = path('v2');
    writeFileSync(ver, v2);
    const v = problemOf(() => SnapshotFile.open(ver));
    expect(v.problem).toBe(SnapshotProblem.UnsupportedVersion);
    expect(v.message).toContain('version 2');

    const tiny = path('tiny');
    writeFileSync(tiny, bytes.subarray(0, 10));
    expect(problemOf(() => SnapshotFile.open(tiny)).problem).toBe(SnapshotProblem.TooShort);
  });

  it('names structural problems behind a valid checksum', () => {
    const pre = encodePreamble(header);
    const row = [historyKey(2, 0), enc('record')];
    const end = (rows: number): Uint8Array => encodeEndBlock({ rows, revision: 2n, compactRevision: 0n, appliedIndex: 1n, historyRecords: rows });
    const cases: [string, Uint8Array[], SnapshotProblem][] = [
      ['no end block', [pre, encodeRowsBlock(row)], SnapshotProblem.MissingEnd],
      ['end block counts other rows', [pre, encodeRowsBlock(row), end(5)], SnapshotProblem.SummaryMismatch],
      ['bytes after the end block', [pre, end(0), new Uint8Array([1, 2, 3, 4, 5, 6])], SnapshotProblem.TrailingData],
      ['unknown block type', [pre, new Uint8Array([9, 0, 0, 0, 0]), end(0)], SnapshotProblem.BadBlock],
      ['a row outside the state tables', [pre, encodeRowsBlock([new Uint8Array([0x72, 1]), enc('raft')]), end(1)], SnapshotProblem.BadRow],
      ['a block longer than the file', [pre, new Uint8Array([1, 0, 0, 0x10, 0]), end(0)], SnapshotProblem.Truncated],
    ];
    for (const [what, body, problem] of cases) {
      const file = withTrailer(path('struct'), ...body);
      const got = problemOf(() => rowsOf(file));
      expect(got.problem, what).toBe(problem);
      expect(got.message, what).toContain(file);
    }
    // And a well-formed one reads back.
    const ok = withTrailer(path('ok'), pre, encodeRowsBlock([...row, metaKey(MetaKey.Revision), encodeValue(2)]), end(2));
    expect(rowsOf(ok)).toHaveLength(2);
    expect(readFileSync(ok).subarray(0, 8).toString()).toBe('CAIRNSNP');
  });
});
