import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeValue } from '@cairn/protocol';
import { RocksBackend } from '../storage/rocks.js';
import { MvccStore } from '../mvcc/store.js';
import { historyKey, metaKey, MetaKey } from '../storage/keyspace.js';
import { snapshotSource } from './source.js';
import { SnapshotFile } from './fileReader.js';
import { snapshotStatus } from './status.js';
import { restoreSnapshot } from './restore.js';
import { hashKvOfDataDir } from './hashKv.js';
import { dbDirOf } from './dataDir.js';
import { EtcdFramer, etcdPaddingBytes } from './etcdFraming.js';
import { encodeEndBlock, encodePreamble, encodeRowsBlock, SnapshotFileError, SnapshotProblem, type SnapshotHeader } from './format.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-etcdframe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const header: SnapshotHeader = { clusterId: 7n, memberId: 9n, createdAtMs: 1_700_000_000_000, serverVersion: 'test' };
let n = 0;
const path = (name: string): string => join(root, `${name}-${n++}`);
const write = (bytes: Uint8Array, name = 'file'): string => {
  const p = path(name);
  writeFileSync(p, bytes);
  return p;
};

/** The blobs of a Cairn snapshot of `puts` key changes, and the data dir they came from. */
async function cairnBlobs(puts: number): Promise<{ dir: string; blobs: { bytes: Uint8Array; last: boolean }[] }> {
  const dir = path('data');
  const backend = await RocksBackend.open(dbDirOf(dir));
  const store = MvccStore.load(backend);
  for (let i = 0; i < puts; i++) store.write((t) => t.put({ key: enc(`k${i % 5}`), value: enc(`v${i}`) }));
  const batch = store.drain();
  await backend.write(batch.ops, { sync: true });
  store.release(batch);
  const source = snapshotSource(backend, header);
  const blobs: { bytes: Uint8Array; last: boolean }[] = [];
  for (let p = source.next(); p !== undefined; p = source.next()) blobs.push(p);
  await backend.close();
  return { dir, blobs };
}

/** What etcd's Snapshot stream (and so etcdctl) makes of the blobs. */
const framed = (blobs: { bytes: Uint8Array; last: boolean }[]): Buffer => {
  const framer = new EtcdFramer();
  return Buffer.concat(blobs.map((b) => framer.frame(b.bytes, b.last)));
};

/** A plain Cairn file with one history row whose value is `valueBytes` long. */
function cairnFile(valueBytes: number): Buffer {
  const body = Buffer.concat([
    encodePreamble(header),
    encodeRowsBlock([historyKey(2, 0), new Uint8Array(valueBytes).fill(0x61), metaKey(MetaKey.Revision), encodeValue(2)]),
    encodeEndBlock({ rows: 2, revision: 2n, compactRevision: 0n, appliedIndex: 1n, historyRecords: 1 }),
  ]);
  return Buffer.concat([body, sha256(body)]);
}

/** The plain file, at least `min` bytes of value, whose length modulo 512 is `mod`. */
function cairnFileSized(mod: number, min = 10): Buffer {
  const base = cairnFile(min).length;
  return cairnFile(min + ((mod - (base % 512) + 512) % 512));
}

/** `cairn` followed by `pad` and the SHA-256 of both (a hand-made etcd frame, right or wrong). */
const frame = (cairn: Uint8Array, pad: Uint8Array): Buffer => {
  const body = Buffer.concat([cairn, pad]);
  return Buffer.concat([body, sha256(body)]);
};

function problemOf(file: string): { problem: string; message: string } {
  try {
    const f = SnapshotFile.open(file);
    try {
      for (const _ of f.rows());
    } finally {
      f.close();
    }
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotFileError);
    return { problem: (err as SnapshotFileError).problem, message: (err as Error).message };
  }
  throw new Error('expected a SnapshotFileError');
}

describe("etcd's framing of a snapshot", () => {
  it('pads to the next multiple of 512, so the size passes etcdctl\'s "ends with a SHA-256" test', () => {
    expect([0, 1, 495, 511, 512, 513, 1024].map(etcdPaddingBytes)).toEqual([0, 511, 17, 1, 0, 511, 0]);
    for (const mod of [0, 1, 31, 32, 480, 511]) {
      const cairn = cairnFileSized(mod);
      const out = framed([{ bytes: cairn.subarray(0, 7), last: false }, { bytes: cairn.subarray(7), last: true }]);
      expect(out.length % 512, `cairn file ${cairn.length} bytes`).toBe(32);
      expect(out.subarray(0, cairn.length).equals(cairn)).toBe(true);
      expect(out.subarray(cairn.length, -32).every((b) => b === 0)).toBe(true);
      expect(out.subarray(-32).equals(sha256(out.subarray(0, -32)))).toBe(true);
    }
  });

  it('reads back as the same snapshot the plain file is: rows, status, restore', async () => {
    const { dir, blobs } = await cairnBlobs(40);
    const plainPath = write(Buffer.concat(blobs.map((b) => b.bytes)), 'plain');
    const etcdBytes = framed(blobs);
    const etcdPath = write(etcdBytes, 'etcd');
    const [plain, etcd] = [snapshotStatus(plainPath), snapshotStatus(etcdPath)];
    expect(etcd.framing).toBe('etcd');
    expect(plain.framing).toBe('cairn');
    expect({ ...etcd, totalSize: 0, sha256: '', framing: '' }).toEqual({ ...plain, totalSize: 0, sha256: '', framing: '' });
    expect(etcd.revision).toBe(41n);
    expect(etcd.totalSize).toBe(etcdBytes.length);
    expect(etcd.sha256).toBe(etcdBytes.subarray(-32).toString('hex'));
    const target = path('restored');
    const r = await restoreSnapshot(etcdPath, { name: 'a', dataDir: target, initialCluster: 'a=http://127.0.0.1:1', initialClusterToken: 't', initialAdvertisePeerUrls: ['http://127.0.0.1:1'] });
    expect(r.revision).toBe(41n);
    expect(await hashKvOfDataDir(target, 41n)).toEqual(await hashKvOfDataDir(dir, 41n));
  });

  it('tells a plain file whose size happens to pass the test from a framed one', () => {
    for (const mod of [32, 0]) {
      const plain = cairnFileSized(mod);
      const f = SnapshotFile.open(write(plain, 'plain'));
      expect([f.framing, [...f.rows()].length]).toEqual(['cairn', 2]);
      f.close();
    }
  });

  it('refuses a damaged framed file, wherever the damage is', async () => {
    const { blobs } = await cairnBlobs(10);
    const good = framed(blobs);
    const cairnBytes = blobs.reduce((s, b) => s + b.bytes.length, 0);
    expect(cairnBytes + etcdPaddingBytes(cairnBytes) + 32).toBe(good.length);
    // inside the Cairn file, in its own checksum, in the padding (if any), in the outer checksum
    const at = [20, Math.floor(cairnBytes / 2), cairnBytes - 1, ...(good.length - 32 > cairnBytes ? [cairnBytes] : []), good.length - 1];
    for (const i of at) {
      const bad = Buffer.from(good);
      bad[i]! ^= 0x01;
      const p = problemOf(write(bad, 'flip'));
      expect(p.problem, `byte ${i} flipped`).toBe(SnapshotProblem.ChecksumMismatch);
    }
    // cut short, as a copy that stopped early
    expect(problemOf(write(good.subarray(0, good.length - 512), 'cut')).problem).toBe(SnapshotProblem.ChecksumMismatch);
  });

  it('checks the padding and the inner checksum even behind a valid outer checksum', () => {
    const cairn = cairnFileSized(100);
    const pad = etcdPaddingBytes(cairn.length);
    expect(pad).toBe(412);
    // padding that is not zeros
    const dirty = new Uint8Array(pad);
    dirty[pad - 1] = 1;
    const d = problemOf(write(frame(cairn, dirty), 'dirty'));
    expect(d.problem).toBe(SnapshotProblem.TrailingData);
    expect(d.message).toContain('not zero padding');
    // 512 more zeros than the padding: the size still passes etcd's test, but it is not the padding
    expect(problemOf(write(frame(cairn, new Uint8Array(pad + 512)), 'long')).problem).toBe(SnapshotProblem.TrailingData);
    // a Cairn file that was damaged before it was framed
    const inner = Buffer.from(cairn);
    inner[30]! ^= 0x01;
    const i = problemOf(write(frame(inner, new Uint8Array(pad)), 'inner'));
    expect(i.problem).toBe(SnapshotProblem.ChecksumMismatch);
    expect(i.message).toContain("inside etcd's framing");
    // and the right frame around the same file reads
    const f = SnapshotFile.open(write(frame(cairn, new Uint8Array(pad)), 'ok'));
    expect([f.framing, [...f.rows()].length]).toEqual(['etcd', 2]);
    f.close();
  });
});
