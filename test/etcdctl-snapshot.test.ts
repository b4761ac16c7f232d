/**
 * Real etcdctl 3.4's `snapshot save` against a Cairn member (issue 15), beside the same command
 * against a real etcd; then the operator's way back: `cairnutl snapshot status` and
 * `cairnutl snapshot restore` of the file etcdctl saved, a member started on the restored data
 * dir, and the keys read back with etcdctl. A damaged copy of the file is refused.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/client';
import { cairnBesideEtcd, etcdctl, etcdToolsMissing } from './support/etcd.js';
import { ctl, freePort, Member, tempDir } from './support/process.js';
import { utl } from './support/utl.js';

const missing = etcdToolsMissing(['etcdctl', 'etcd']);
if (missing !== undefined) console.warn(`etcdctl-snapshot.test.ts skipped: ${missing}`);

/** The `msg` of each of etcdctl's JSON log lines on stderr, in order. */
const logMessages = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg: string }).msg);

interface Status {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

async function status(file: string): Promise<Status> {
  const r = await utl(['snapshot', 'status', file, '-w', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Status;
}

describe.skipIf(missing !== undefined)('etcdctl snapshot save against Cairn, restored with cairnutl', () => {
  let cairn: string;
  let etcd: string;
  let stop: (() => Promise<void>) | undefined;
  const dir = tempDir('cairn-etcdctl-snap-');
  const restored: Member[] = [];
  const KEYS = 600;
  const value = (i: number): string => `value-${i}-${'x'.repeat(2000)}`;

  beforeAll(async () => {
    const both = await cairnBesideEtcd(true);
    ({ cairn, stop } = both);
    etcd = both.etcd!;
    // ~1.2 MB of values: the stream is several messages, not one.
    const client = new CairnClient({ endpoints: [cairn], dialTimeoutMs: 5000, requestTimeoutMs: 15_000 });
    try {
      for (let i = 0; i < KEYS; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.kv.put(`snap/${String(i + j).padStart(4, '0')}`, value(i + j))));
    } finally {
      client.close();
    }
    expect((await etcdctl(etcd, ['put', 'snap/0000', value(0)])).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const m of restored) await m.kill();
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('saves as it does from etcd; cairnutl reads the file, restores it, and a member serves the keys', async () => {
    const rev = JSON.parse((await etcdctl(cairn, ['get', 'snap/0000', '-w', 'json'])).stdout) as { header: { revision: number } };
    const [fromCairn, fromEtcd] = [join(dir, 'cairn.db'), join(dir, 'etcd.db')];
    const [c, e] = await Promise.all([etcdctl(cairn, ['snapshot', 'save', fromCairn], { timeoutMs: 60_000 }), etcdctl(etcd, ['snapshot', 'save', fromEtcd], { timeoutMs: 60_000 })]);
    expect({ code: c.code, stdout: c.stdout.replace(fromCairn, 'FILE'), log: logMessages(c.stderr) }, c.stderr).toEqual({
      code: e.code,
      stdout: e.stdout.replace(fromEtcd, 'FILE'),
      log: logMessages(e.stderr),
    });
    expect(c.stdout).toBe(`Snapshot saved at ${fromCairn}\n`);
    expect(existsSync(`${fromCairn}.part`)).toBe(false);

    // What etcdctl kept: the Cairn file, zero padding, and the SHA-256 of both.
    const bytes = readFileSync(fromCairn);
    expect(bytes.length % 512).toBe(32);
    expect(bytes.subarray(0, 8).toString()).toBe('CAIRNSNP');
    expect(bytes.subarray(-32).equals(createHash('sha256').update(bytes.subarray(0, -32)).digest())).toBe(true);

    const st = await status(fromCairn);
    expect(st.revision).toBe(Number(rev.header.revision));
    expect(st.totalKey).toBeGreaterThanOrEqual(KEYS);
    expect(st.totalSize).toBe(statSync(fromCairn).size);
    // The same state as Cairn's own save of it: the hash is over the rows, whatever the framing.
    const own = join(dir, 'own.snap');
    expect((await ctl([`--endpoints=${cairn}`, 'snapshot', 'save', own])).code).toBe(0);
    expect((await status(own)).hash).toBe(st.hash);
    // etcd's file is not a Cairn snapshot, and cairnutl says so.
    const foreign = await utl(['snapshot', 'status', fromEtcd]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('not a Cairn snapshot');

    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const peer = `http://127.0.0.1:${peerPort}`;
    const dataDir = join(dir, 'r1.cairn');
    const r = await utl(['snapshot', 'restore', fromCairn, '--name', 'r1', '--data-dir', dataDir, '--initial-cluster', `r1=${peer}`, '--initial-cluster-token', 'from-etcdctl', '--initial-advertise-peer-urls', peer]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`revision ${st.revision}, compact revision 0`);
    const m = new Member({ name: 'r1', dataDir, clientPort, peerPort, extraArgs: [`--initial-advertise-peer-urls=${peer}`, `--initial-cluster=r1=${peer}`, '--initial-cluster-token=from-etcdctl'] });
    restored.push(m);
    await m.start(60_000);
    const keys = await etcdctl(m.endpoint, ['get', 'snap/', '--prefix', '--keys-only']);
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout.split('\n').filter((l) => l !== '')).toEqual(Array.from({ length: KEYS }, (_, i) => `snap/${String(i).padStart(4, '0')}`));
    for (const i of [0, 299, KEYS - 1]) {
      const key = `snap/${String(i).padStart(4, '0')}`;
      expect((await etcdctl(m.endpoint, ['get', key, '--print-value-only'])).stdout).toBe(`${value(i)}\n`);
    }
    const after = await etcdctl(m.endpoint, ['put', 'after', '1', '-w', 'json']);
    expect((JSON.parse(after.stdout) as { header: { revision: number } }).header.revision).toBe(st.revision + 1);
  });

  it('refuses a copy with one byte flipped, in status and in restore', async () => {
    const file = join(dir, 'flip-src.db');
    expect((await etcdctl(cairn, ['snapshot', 'save', file])).code).toBe(0);
    const bytes = readFileSync(file);
    for (const at of [100, Math.floor(bytes.length / 2), bytes.length - 40, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at]! ^= 0x01;
      const copy = join(dir, `flip-${at}.db`);
      writeFileSync(copy, bad);
      const s = await utl(['snapshot', 'status', copy]);
      expect({ code: s.code, out: s.stdout }, `byte ${at}`).toEqual({ code: 1, out: '' });
      expect(s.stderr).toMatch(/^Error: .*SHA-256 mismatch/);
      const target = join(dir, `flip-${at}.cairn`);
      const r = await utl(['snapshot', 'restore', copy, '--data-dir', target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/SHA-256 mismatch/);
      expect(existsSync(target)).toBe(false);
    }
  });

  it("serves the same framing through the JSON gateway's /v3/maintenance/snapshot", async () => {
    const res = await fetch(`http://${cairn}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n').filter((l) => l.trim() !== '');
    const blobs = lines.map((l) => Buffer.from((JSON.parse(l) as { result: { blob?: string } }).result.blob ?? '', 'base64'));
    const bytes = Buffer.concat(blobs);
    expect(bytes.length % 512).toBe(32);
    expect(bytes.subarray(-32).equals(createHash('sha256').update(bytes.subarray(0, -32)).digest())).toBe(true);
    const file = join(dir, 'gateway.db');
    writeFileSync(file, bytes);
    expect((await status(file)).totalKey).toBeGreaterThanOrEqual(KEYS);
  });
});
