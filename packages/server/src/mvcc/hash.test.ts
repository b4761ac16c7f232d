import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@cairn/protocol';
import type { Member } from '../member.js';
import { RocksBackend } from '../storage/rocks.js';
import { MemoryBackend } from '../storage/memory.js';
import { HISTORY_START, historyKey } from '../storage/keyspace.js';
import { b, openMember, tempDir, codeOf } from '../testing/harness.js';
import { crc32c, Crc32c, hashView } from './hash.js';
import { decodeRecord, encodeRecord } from './kvRecord.js';

const open: { m: Member; cleanup: () => void }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.m.close();
    o.cleanup();
  }
});

async function member(): Promise<{ m: Member; backend: RocksBackend }> {
  const d = tempDir();
  const backend = await RocksBackend.open(d.dir);
  const m = await openMember(d.dir, backend);
  open.push({ m, cleanup: d.cleanup });
  return { m, backend };
}

/** The same writes on any member: puts, an overwrite, a delete, a txn, a lease. */
async function workload(m: Member): Promise<void> {
  await m.leases.grant({ id: 7n, ttlSeconds: 3600 });
  await m.propose({ put: { key: b('a'), value: b('1') } }); // 2
  await m.propose({ put: { key: b('b'), value: b('2') } }); // 3
  await m.propose({ put: { key: b('a'), value: b('3') } }); // 4
  await m.propose({ deleteRange: { key: b('b') } }); // 5
  await m.propose({ put: { key: b('c'), value: b('4'), lease: 7n } }); // 6
  await m.propose({
    txn: { compare: [], success: [{ put: { key: b('d'), value: b('5') } }, { put: { key: b('e'), value: b('6') } }], failure: [] },
  }); // 7
}

describe('CRC-32C', () => {
  it('matches the standard check value and is incremental', () => {
    // The check value of CRC-32C (iSCSI, Castagnoli) for "123456789".
    expect(crc32c(b('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(new Crc32c().update(b('1234')).update(b('56789')).digest()).toBe(0xe3069283);
  });
});

describe('hashKv', () => {
  it('is the same on two members that applied the same writes, and fixed for a past revision', async () => {
    const [x, y] = [await member(), await member()];
    await workload(x.m);
    await workload(y.m);
    const hx = await x.m.hashKv();
    const hy = await y.m.hashKv();
    expect(hx.hashRevision).toBe(7n);
    expect(hx.compactRevision).toBe(0n);
    expect(hx.hash).toBe(hy.hash);
    expect(hx.header.revision).toBe(7n);
    // Asked again: the same. Later writes do not change the hash of revision 7.
    expect((await x.m.hashKv(0n)).hash).toBe(hx.hash);
    await x.m.propose({ put: { key: b('f'), value: b('7') } });
    expect((await x.m.hashKv(7n)).hash).toBe(hx.hash);
    expect((await x.m.hashKv()).hash).not.toBe(hx.hash);
    // Each revision hashes differently: every record counts.
    const all = await Promise.all([2n, 3n, 4n, 5n, 6n, 7n].map(async (r) => (await x.m.hashKv(r)).hash));
    expect(new Set(all).size).toBe(6);
  });

  it('changes when any field of any record changes', async () => {
    const { m, backend } = await member();
    await workload(m);
    const base = (await m.hashKv()).hash;
    const key = historyKey(6, 0); // c=4 with lease 7
    const original = backend.get(key)!;
    const rec = decodeRecord(original);
    const variants = [
      { ...rec.kv, value: b('5') },
      { ...rec.kv, key: b('C') },
      { ...rec.kv, lease: 8n },
      { ...rec.kv, version: 2n },
      { ...rec.kv, createRevision: 5n },
      { ...rec.kv, modRevision: 5n },
    ];
    const seen = new Set([base]);
    for (const kv of variants) {
      await backend.write([{ type: 'put', key, value: encodeRecord(kv, false) }], { sync: true });
      const h = (await m.hashKv()).hash;
      expect(seen.has(h)).toBe(false);
      seen.add(h);
    }
    // A tombstone flag, and bytes that do not even decode: both still change the hash, no crash.
    await backend.write([{ type: 'put', key, value: encodeRecord(rec.kv, true) }], { sync: true });
    expect(seen.has((await m.hashKv()).hash)).toBe(false);
    await backend.write([{ type: 'put', key, value: new Uint8Array([0xc1, 0x00]) }], { sync: true });
    expect(seen.has((await m.hashKv()).hash)).toBe(false);
    // A record that vanished, and one that appeared, too.
    await backend.write([{ type: 'del', key }], { sync: true });
    expect(seen.has((await m.hashKv()).hash)).toBe(false);
    await backend.write([{ type: 'put', key, value: original }], { sync: true });
    expect((await m.hashKv()).hash).toBe(base);
    await backend.write([{ type: 'put', key: historyKey(6, 1), value: original }], { sync: true });
    expect((await m.hashKv()).hash).not.toBe(base);
  });

  it('refuses compacted and future revisions like etcd, and negative ones', async () => {
    const { m } = await member();
    await workload(m);
    await m.propose({ compact: { revision: 4n } });
    expect(await codeOf(m.hashKv(3n))).toBe(ErrorCode.Compacted);
    expect(await codeOf(m.hashKv(8n))).toBe(ErrorCode.FutureRevision);
    expect(await codeOf(m.hashKv(-1n))).toBe(ErrorCode.InvalidArgument);
    const at = await m.hashKv(4n);
    expect(at).toMatchObject({ compactRevision: 4n, hashRevision: 4n });
  });

  it('counts only what survives compaction, whenever the compaction ran', async () => {
    // x compacts at 4 then writes on; y writes the same and compacts at 4 last; z never compacts.
    const [x, y, z] = [await member(), await member(), await member()];
    for (const { m } of [x, y, z]) await workload(m);
    await x.m.propose({ compact: { revision: 4n } });
    for (const { m } of [x, y, z]) await m.propose({ put: { key: b('a'), value: b('8') } }); // 8
    await y.m.propose({ compact: { revision: 4n } });
    const [hx, hy, hz] = await Promise.all([x.m.hashKv(), y.m.hashKv(), z.m.hashKv()]);
    expect(hx).toMatchObject({ compactRevision: 4n, hashRevision: 8n });
    expect(hx.hash).toBe(hy.hash);
    // Revision 2 (a=1) is gone on x and y only: a different hash, and a different compact revision.
    expect(hz.compactRevision).toBe(0n);
    expect(hz.hash).not.toBe(hx.hash);
  });

  it('skips records a compaction dropped but the backend still holds (etcd keep set)', async () => {
    const mem = new MemoryBackend();
    const rec = (k: string, v: string, main: number) => encodeRecord({ key: b(k), value: b(v), createRevision: BigInt(main), modRevision: BigInt(main), version: 1n, lease: 0n }, false);
    await mem.write(
      [
        { type: 'put', key: historyKey(2, 0), value: rec('a', '1', 2) },
        { type: 'put', key: historyKey(3, 0), value: rec('a', '2', 3) },
        { type: 'put', key: historyKey(4, 0), value: rec('b', '3', 4) },
      ],
      { sync: true },
    );
    const pause = () => Promise.resolve();
    const view = (keep: string[]) => ({ reader: mem.reader({ gte: HISTORY_START, lt: historyKey(5, 0) }), keep: new Set(keep), compactRevision: 3, hashRevision: 4 });
    const withStale = await hashView(view(['3.0']), pause, 1);
    await mem.write([{ type: 'del', key: historyKey(2, 0) }], { sync: true });
    expect(await hashView(view(['3.0']), pause)).toBe(withStale);
    // Without the keep set's 3.0, the record at 3 does not count either.
    expect(await hashView(view([]), pause)).not.toBe(withStale);
  });
});

describe('a CORRUPT alarm', () => {
  it('refuses data writes everywhere and reads on the member it names, until disarmed', async () => {
    const { m } = await member();
    await workload(m);
    await m.propose({ alarm: { action: 'activate', memberId: m.memberId, alarm: 'corrupt' } });
    expect(await codeOf(m.propose({ put: { key: b('x'), value: b('1') } }))).toBe(ErrorCode.Corrupt);
    expect(await codeOf(m.propose({ compact: { revision: 3n } }))).toBe(ErrorCode.Corrupt);
    expect(await codeOf(m.range({ key: b('a') }))).toBe(ErrorCode.Corrupt);
    expect(await codeOf(m.range({ key: b('a'), serializable: true }))).toBe(ErrorCode.Corrupt);
    // The hash is still served: the operator compares it.
    expect((await m.hashKv()).hashRevision).toBe(7n);
    await m.propose({ alarm: { action: 'deactivate', memberId: m.memberId, alarm: 'corrupt' } });
    expect((await m.propose({ put: { key: b('x'), value: b('1') } })).header.revision).toBe(8n);
    expect((await m.range({ key: b('x') })).count).toBe(1);
  });

  it('on another member: this one still reads, but nobody writes', async () => {
    const { m } = await member();
    await workload(m);
    await m.propose({ alarm: { action: 'activate', memberId: 12345n, alarm: 'corrupt' } });
    expect((await m.range({ key: b('a') })).count).toBe(1);
    expect(await codeOf(m.propose({ deleteRange: { key: b('a') } }))).toBe(ErrorCode.Corrupt);
  });
});

describe('the peer hashKv request', () => {
  it('waits for a revision not applied yet, and refuses a third one in flight', async () => {
    const { m } = await member();
    await workload(m);
    const ask = () => m.peer.rpc(2n, 'maintenance.hashKv', { revision: 8n }) as Promise<{ hash: number; hashRevision: bigint }>;
    const [first, second] = [ask(), ask()];
    expect(await codeOf(ask())).toBe(ErrorCode.Unavailable);
    await m.propose({ put: { key: b('late'), value: b('1') } }); // 8
    const [h1, h2] = await Promise.all([first, second]);
    expect(h1.hashRevision).toBe(8n);
    expect(h1.hash).toBe(h2.hash);
    expect(h1.hash).toBe((await m.hashKv(8n)).hash);
  });
});
