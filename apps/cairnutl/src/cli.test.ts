import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeValue } from '@cairn/protocol';
import { runCli } from './cli.js';
import { humanBytes, renderTable } from './output.js';

const root = mkdtempSync(join(tmpdir(), 'cairnutl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/**
 * A snapshot file as the format documents it (docs/operations.md), built here byte by byte
 * from the spec rather than by the server's writer: two history rows and the revision meta.
 */
function specFile(file: string): { rows: [Uint8Array, Uint8Array][]; revision: number } {
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const hist = (main: number): Uint8Array => {
    const k = Buffer.alloc(13);
    k[0] = 0x68;
    k.writeUInt32BE(0, 1);
    k.writeUInt32BE(main, 5);
    return k;
  };
  const rows: [Uint8Array, Uint8Array][] = [
    // History records: msgpack [key, createRevision, modRevision, version, value, lease, tombstone].
    [hist(2), encodeValue([Buffer.from('a'), 2, 2, 1, Buffer.from('first'), 0, 0])],
    [hist(3), encodeValue([Buffer.from('a'), 2, 3, 2, Buffer.from('second'), 0, 0])],
    [Buffer.concat([Buffer.from([0x6d]), Buffer.from('revision')]), encodeValue(3)],
  ];
  const header = encodeValue({ clusterId: 1n, memberId: 2n, createdAtMs: 0, serverVersion: 'spec' });
  const rowBytes = Buffer.concat([u32(rows.length), ...rows.flatMap(([k, v]) => [u32(k.length), k, u32(v.length), v])]);
  const end = encodeValue({ rows: rows.length, revision: 3, compactRevision: 0, appliedIndex: 5, historyRecords: 2 });
  const body = Buffer.concat([Buffer.from('CAIRNSNP'), u32(1), u32(header.length), header, Buffer.from([1]), u32(rowBytes.length), rowBytes, Buffer.from([2]), u32(end.length), end]);
  writeFileSync(file, Buffer.concat([body, createHash('sha256').update(body).digest()]));
  return { rows, revision: 3 };
}

/** CRC-32C (Castagnoli), bit by bit: the status hash's definition, independent of the server's table code. */
function crc32c(parts: readonly Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) {
    for (const byte of p) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('cairnutl snapshot status', () => {
  const file = join(root, 'spec.snap');
  let expected: { hash: number; size: number; keys: number; revision: number };
  beforeAll(() => {
    const { rows, revision } = specFile(file);
    const len = (n: number): Uint8Array => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const hash = crc32c(rows.flatMap(([k, v]) => [len(k.length), k, len(v.length), v]));
    expected = { hash, size: statSync(file).size, keys: rows.length, revision };
  });

  it('prints hash, revision, total keys and total size like etcdctl, in each format', async () => {
    const { hash, size, keys, revision } = expected;
    const simple = await run('snapshot', 'status', file);
    expect(simple).toMatchObject({ code: 0, err: '' });
    expect(simple.out).toBe(`${hash.toString(16)}, ${revision}, ${keys}, ${humanBytes(size)}\n`);
    const table = await run('-w', 'table', 'snapshot', 'status', file);
    expect(table.out).toBe(renderTable(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], [[hash.toString(16), String(revision), String(keys), humanBytes(size)]]));
    expect(table.out.split('\n')[1]).toMatch(/^\| {3}HASH {3}\| REVISION \| TOTAL KEYS \| TOTAL SIZE \|$/);
    const json = await run('snapshot', 'status', file, '-w', 'json');
    expect(JSON.parse(json.out)).toEqual({ hash, revision, totalKey: keys, totalSize: size });
  });

  it('sizes like etcdctl (20480 bytes printed as "20 kB" by etcdctl 3.4)', () => {
    expect([humanBytes(20480), humanBytes(7), humanBytes(1500), humanBytes(1_550_000)]).toEqual(['20 kB', '7 B', '1.5 kB', '1.6 MB']);
  });

  it('fails with the problem named for a damaged file, and exits 1', async () => {
    const bad = join(root, 'bad.snap');
    const bytes = readFileSync(file);
    bytes[40]! ^= 0x55;
    writeFileSync(bad, bytes);
    const r = await run('snapshot', 'status', bad);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^Error: .*bad\.snap: SHA-256 mismatch/);
    const missing = await run('snapshot', 'status', join(root, 'nope.snap'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('nope.snap');
  });

  it("reads a file in etcd's framing (as etcdctl snapshot save keeps it) as the same snapshot", async () => {
    // From docs/etcd-api.md: the Cairn file, zeros up to a multiple of 512, the SHA-256 of both.
    const cairn = readFileSync(file);
    const body = Buffer.concat([cairn, Buffer.alloc((512 - (cairn.length % 512)) % 512)]);
    const framed = join(root, 'etcdctl.db');
    writeFileSync(framed, Buffer.concat([body, createHash('sha256').update(body).digest()]));
    const json = await run('snapshot', 'status', framed, '-w', 'json');
    expect(json).toMatchObject({ code: 0, err: '' });
    const { hash, keys, revision } = expected;
    expect(JSON.parse(json.out)).toEqual({ hash, revision, totalKey: keys, totalSize: statSync(framed).size });
    expect(statSync(framed).size % 512).toBe(32);
    const dir = join(root, 'from-etcdctl');
    const r = await run('snapshot', 'restore', framed, '--name', 'one', '--data-dir', dir, '--initial-cluster', 'one=http://127.0.0.1:9', '--initial-advertise-peer-urls', 'http://127.0.0.1:9');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('revision 3, compact revision 0, 3 rows');
    // One byte of the padding changed (and the outer hash redone to match): not etcd's padding.
    const dirty = Buffer.from(body);
    dirty[cairn.length] = 1;
    const bad = join(root, 'etcdctl-dirty.db');
    writeFileSync(bad, Buffer.concat([dirty, createHash('sha256').update(dirty).digest()]));
    const refused = await run('snapshot', 'status', bad);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('not zero padding');
  });

  it('refuses bad arguments with exit code 128', async () => {
    expect((await run('snapshot', 'status')).code).toBe(128);
    const w = await run('-w', 'protobuf', 'snapshot', 'status', file);
    expect(w.code).toBe(128);
    expect(w.err).toContain('unsupported output format "protobuf"');
    const bump = await run('snapshot', 'restore', file, '--data-dir', join(root, 'r'), '--bump-revision', 'x');
    expect(bump.code).toBe(128);
  });

  it('restores the file and hashkv reads the result; a restore into a used dir fails', async () => {
    const dir = join(root, 'restored');
    const args = ['snapshot', 'restore', file, '--name', 'one', '--data-dir', dir, '--initial-cluster', 'one=http://127.0.0.1:9', '--initial-advertise-peer-urls', 'http://127.0.0.1:9'];
    const r = await run(...args);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^restored snapshot .* into ${dir} in \\d+ ms\\ncluster [0-9a-f]+, member [0-9a-f]+, members one=[0-9a-f]+\\nrevision 3, compact revision 0, 3 rows\\n$`));
    const h = await run('hashkv', '--data-dir', dir, '-w', 'json');
    expect(h.code).toBe(0);
    expect(JSON.parse(h.out)).toMatchObject({ hashRevision: 3, compactRevision: 0 });
    // An offline defrag keeps every record: the hash at the same revision is unchanged.
    const d = await run('defrag', '--data-dir', dir);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/^Finished defragmenting data dir .*: \d+ -> \d+ bytes, \d+ keys in \d+ ms\n$/);
    const h2 = await run('hashkv', '--data-dir', dir, '-w', 'json');
    expect(JSON.parse(h2.out)).toEqual(JSON.parse(h.out));
    const again = await run(...args);
    expect(again.code).toBe(1);
    expect(again.err).toContain('exists and is not empty');
    const notDir = await run('hashkv', '--data-dir', join(root, 'nothing-here'));
    expect(notDir.code).toBe(1);
    expect(notDir.err).toContain('is not a Cairn data dir');
  });
});
