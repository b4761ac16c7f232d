/**
 * Backups with real processes (issue 13, items 1-2): `cairnctl snapshot save` from a follower
 * of a three-member cluster while writes go on, `cairnutl snapshot status`, `cairnutl snapshot
 * restore` into a fresh three-member cluster, and the restored cluster checked as an operator
 * would: `endpoint hashkv` at the snapshot's revision equals the source's, and every write
 * acknowledged before the save started is there.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/client';
import { TestCluster } from './support/cluster.js';
import { ctl, freePort, Member, singleMember, tempDir, waitFor } from './support/process.js';
import { utl } from './support/utl.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** `endpoint hashkv --rev R -w json` on each endpoint: the hashes, in endpoint order. */
async function hashes(endpoints: readonly string[], rev: bigint): Promise<number[]> {
  const r = await ctl([`--endpoints=${endpoints.join(',')}`, 'endpoint', 'hashkv', '--rev', String(rev), '-w', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { HashKV: { hash: number; hash_revision: number } }[]).map((h) => {
    expect(h.HashKV.hash_revision).toBe(Number(rev));
    return h.HashKV.hash;
  });
}

describe('snapshot save under write load, restore into a new cluster', () => {
  it('restores every acknowledged write and the same hash at the snapshot revision', async () => {
    const src = await TestCluster.create({ size: 3, token: 'backup-source' });
    cleanups.push(() => src.cleanup());
    await src.start();
    const leader = await src.leader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const client = src.client([leader]);

    // Some volume first: ~6 MB of 4 KiB values (and a lease, which a restore keeps).
    const big = 'x'.repeat(4096);
    for (let i = 0; i < 1500; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.kv.put(`bulk/${String(i + j).padStart(5, '0')}`, big)));
    const lease = await client.lease.grant(3600);
    await client.kv.put('leased', 'v', { lease: lease.id });

    // Writers that keep going through the save; bounded in count and time.
    const acked = new Map<string, bigint>();
    let stop = false;
    const deadline = Date.now() + 60_000;
    let next = 0;
    const writer = async (): Promise<void> => {
      while (!stop && next < 20_000 && Date.now() < deadline) {
        const key = `load/${String(next++).padStart(6, '0')}`;
        const res = await client.kv.put(key, key);
        acked.set(key, res.header.revision);
      }
    };
    const writers = Array.from({ length: 4 }, () => writer());
    await waitFor('200 writes acknowledged', () => acked.size >= 200, 30_000);

    const file = join(src.dir, 'backup.snap');
    const before = new Map(acked);
    const t0 = performance.now();
    const save = await ctl([`--endpoints=${src.endpoints[follower]}`, 'snapshot', 'save', file], { timeoutMs: 60_000 });
    const saveMs = performance.now() - t0;
    const duringSave = acked.size - before.size;
    stop = true;
    await Promise.all(writers);
    expect(save.stderr).toBe('');
    expect(save.stdout).toBe(`Snapshot saved at ${file}\n`);
    expect(save.code).toBe(0);
    // The writes did go on while the member streamed.
    expect(duringSave).toBeGreaterThan(0);

    const status = await utl(['snapshot', 'status', file, '-w', 'json']);
    expect(status.code, status.stderr).toBe(0);
    const st = JSON.parse(status.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
    expect(st.totalSize).toBe(statSync(file).size);
    const rev = BigInt(st.revision);
    const newestBefore = [...before.values()].reduce((a, b) => (a > b ? a : b), 0n);
    expect(rev).toBeGreaterThanOrEqual(newestBefore);
    const sourceHashes = await hashes(src.endpoints, rev);
    const sourceClusterId = (await client.maintenance.status()).header.clusterId;
    expect(new Set(sourceHashes).size).toBe(1);
    console.log(`snapshot save: ${(st.totalSize / 1e6).toFixed(1)} MB in ${saveMs.toFixed(0)} ms (${(st.totalSize / 1e6 / (saveMs / 1000)).toFixed(1)} MB/s, cairnctl start included), ${duringSave} writes acknowledged during the save`);
    await Promise.all(src.members.map((m) => m.kill()));

    // A new cluster from the file: new ports, token and data dirs.
    const dir = tempDir('cairn-restored-');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const names = ['r1', 'r2', 'r3'];
    const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]!.peer}`).join(',');
    const t1 = performance.now();
    for (const [i, name] of names.entries()) {
      const r = await utl(['snapshot', 'restore', file, '--name', name, '--data-dir', join(dir, name), '--initial-cluster', initial, '--initial-cluster-token', 'backup-restored', '--initial-advertise-peer-urls', `http://127.0.0.1:${ports[i]!.peer}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`revision ${rev}, compact revision 0`);
    }
    const restoreMs = (performance.now() - t1) / names.length;
    const restored = names.map(
      (name, i) =>
        new Member({
          name,
          dataDir: join(dir, name),
          clientPort: ports[i]!.client,
          peerPort: ports[i]!.peer,
          extraArgs: [`--initial-advertise-peer-urls=http://127.0.0.1:${ports[i]!.peer}`, `--initial-cluster=${initial}`, '--initial-cluster-token=backup-restored'],
        }),
    );
    cleanups.push(async () => {
      await Promise.all(restored.map((m) => m.kill()));
    });
    await Promise.all(restored.map((m) => m.start(60_000, 'listening')));
    const endpoints = restored.map((m) => m.endpoint);
    await waitFor('the restored cluster healthy', async () => (await ctl([`--endpoints=${endpoints.join(',')}`, 'endpoint', 'health'])).code === 0, 60_000, 200);
    console.log(`snapshot restore: ${restoreMs.toFixed(0)} ms per member (cairnutl start included)`);

    expect(await hashes(endpoints, rev)).toEqual(sourceHashes);
    const c = new CairnClient({ endpoints, dialTimeoutMs: 5000, requestTimeoutMs: 15_000 });
    try {
      const got = await c.kv.getPrefix('load/', { revision: rev });
      const keys = new Set(got.map((kv) => new TextDecoder().decode(kv.key)));
      const missing = [...before.keys()].filter((k) => !keys.has(k));
      expect(missing).toEqual([]);
      expect((await c.kv.range({ key: 'bulk/', prefix: true, countOnly: true })).count).toBe(1500);
      // The lease came along, with its key.
      const ttl = await c.lease.timeToLive(lease.id, { keys: true });
      expect(ttl.ttlSeconds).toBeGreaterThan(0);
      expect(ttl.keys.map((k) => new TextDecoder().decode(k))).toEqual(['leased']);
      // A new cluster: another id, and it takes writes after the restored revision.
      const put = await c.kv.put('after-restore', '1');
      expect(put.header.revision).toBeGreaterThan(rev);
      expect(put.header.clusterId).not.toBe(sourceClusterId);
    } finally {
      c.close();
    }
  }, 300_000);
  it('saves for root only when auth is on, and leaves no file behind a refusal', async () => {
    const { member, dir, cleanup } = await singleMember('auth');
    cleanups.push(cleanup);
    const E = `--endpoints=${member.endpoint}`;
    expect((await ctl([E, 'user', 'add', 'root', '--new-user-password=rootpw'])).code).toBe(0);
    expect((await ctl([E, 'role', 'add', 'root'])).code).toBe(0);
    expect((await ctl([E, 'user', 'grant-role', 'root', 'root'])).code).toBe(0);
    expect((await ctl([E, 'user', 'add', 'alice', '--new-user-password=alicepw'])).code).toBe(0);
    expect((await ctl([E, 'auth', 'enable'])).code).toBe(0);
    const file = join(dir, 'auth.snap');
    const anon = await ctl([E, 'snapshot', 'save', file]);
    expect(anon.code).not.toBe(0);
    const alice = await ctl([E, '--user=alice:alicepw', 'snapshot', 'save', file]);
    expect(alice.code).toBe(1);
    expect(alice.stderr).toMatch(/^Error: .*permission denied/i);
    expect(existsSync(file) || existsSync(`${file}.part`)).toBe(false);
    const root = await ctl([E, '--user=root:rootpw', 'snapshot', 'save', file]);
    expect(root).toMatchObject({ code: 0, stdout: `Snapshot saved at ${file}\n` });
    expect((await utl(['snapshot', 'status', file])).code).toBe(0);
  });
});
