/**
 * Day-2 space operations on real processes: defrag gives deleted space back, and a member past
 * its quota recovers with delete, compaction, defrag and `alarm disarm` (docs/operations.md).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/client';
import { ctl, freePort, Member, tempDir } from './support/process.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const dirs: string[] = [];
const members: Member[] = [];
afterAll(async () => {
  for (const m of members) await m.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(extraArgs: string[]): Promise<Member> {
  const dir = tempDir('cairn-space-');
  dirs.push(dir);
  const m = new Member({ name: 'default', dataDir: join(dir, 'default.cairn'), clientPort: await freePort(), peerPort: await freePort(), extraArgs });
  members.push(m);
  await m.start();
  return m;
}

/** DB SIZE of `endpoint status -w json` in bytes. */
async function dbSize(e: string[]): Promise<{ dbSize: number; dbSizeInUse: number; revision: number }> {
  const r = await ctl([...e, 'endpoint', 'status', '-w', 'json']);
  expect(r.code).toBe(0);
  const [s] = JSON.parse(r.stdout) as { Status: { dbSize: number; dbSizeInUse: number; header: { revision: number } } }[];
  return { dbSize: s!.Status.dbSize, dbSizeInUse: s!.Status.dbSizeInUse, revision: s!.Status.header.revision };
}

describe('defrag', () => {
  it('after deleting 90% of 50 MB, defrag shrinks DB SIZE by at least half', async () => {
    const m = await start([]);
    const e = [`--endpoints=${m.endpoint}`];
    const client = new CairnClient({ endpoints: [m.endpoint] });
    try {
      // 50 MB of incompressible 10 kB values, 64 puts in flight at a time.
      const count = 5000;
      for (let i = 0; i < count; i += 64) {
        await Promise.all(Array.from({ length: Math.min(64, count - i) }, (_, j) => client.kv.put(`big/${String(i + j).padStart(5, '0')}`, randomBytes(10_000))));
      }
      const full = await dbSize(e);
      expect(full.dbSize).toBeGreaterThan(45e6);
      // Delete 90% (every key not ending in 0), then compact away their history.
      for (let d = 1; d <= 9; d++) {
        for (let hi = 0; hi < 500; hi += 100) {
          await Promise.all(Array.from({ length: 100 }, (_, j) => client.kv.delete(`big/${String((hi + j) * 10 + d).padStart(5, '0')}`)));
        }
      }
      const { revision } = await dbSize(e);
      expect(await ctl([...e, 'compaction', String(revision), '--physical'])).toMatchObject({ code: 0, stdout: `compacted revision ${revision}\n` });
      const compacted = await dbSize(e);
      // Compaction alone leaves the bytes on disk; IN USE tells what a defrag will leave.
      expect(compacted.dbSizeInUse).toBeLessThan(compacted.dbSize / 2);
      const t0 = Date.now();
      const r = await ctl([...e, 'defrag'], { timeoutMs: 120_000 });
      const ms = Date.now() - t0;
      expect(r).toMatchObject({ code: 0, stdout: `Finished defragmenting etcd member[${m.endpoint}]\n` });
      const after = await dbSize(e);
      console.log(`defrag: DB SIZE ${full.dbSize} (full) -> ${compacted.dbSize} (deleted, compacted) -> ${after.dbSize} after defrag in ${ms} ms (cairnctl round trip); IN USE ${after.dbSizeInUse}`);
      expect(after.dbSize).toBeLessThan(compacted.dbSize / 2);
      // The data is all there, and writes go on.
      expect((await client.kv.range({ key: 'big/', prefix: true, countOnly: true })).count).toBe(500);
      expect((await ctl([...e, 'put', 'after', 'defrag'])).stdout).toBe('OK\n');
      expect((await ctl([...e, 'get', 'big/04990', '--print-value-only'])).stdout.length).toBeGreaterThan(5000);
      // And it survives a restart (the new copy is moved into place).
      await m.stop();
      await m.start();
      expect((await ctl([...e, 'get', 'after', '--print-value-only'])).stdout).toBe('defrag\n');
      expect((await dbSize(e)).dbSize).toBeLessThan(compacted.dbSize / 2);
    } finally {
      client.close();
    }
  }, 240_000);
});

describe('NOSPACE', () => {
  it('fill -> alarm -> delete, compact, defrag, disarm -> put succeeds', async () => {
    const m = await start(['--quota-backend-bytes=300000']);
    const e = [`--endpoints=${m.endpoint}`];
    const value = randomBytes(100_000).toString('base64'); // 133 kB
    let failed: { code: number; stderr: string } | undefined;
    let puts = 0;
    // Fill until the quota refuses (bounded: the quota is 300 kB).
    for (let i = 0; i < 20 && failed === undefined; i++) {
      const r = await ctl([...e, 'put', `big/${i}`], { stdin: value });
      if (r.code === 0) puts++;
      else failed = r;
    }
    expect(failed?.stderr).toMatch(/database space exceeded/);
    expect(puts).toBeGreaterThanOrEqual(2);
    expect((await ctl([...e, 'alarm', 'list'])).stdout).toMatch(/alarm:NOSPACE/);
    // Small writes are refused too while the alarm is raised.
    expect((await ctl([...e, 'put', 'small', 'x'])).stderr).toMatch(/database space exceeded/);

    expect(await ctl([...e, 'del', 'big', '--prefix'])).toMatchObject({ code: 0, stdout: `${puts}\n` });
    const { revision, dbSize: before } = await dbSize(e);
    expect(await ctl([...e, 'compaction', String(revision), '--physical'])).toMatchObject({ code: 0 });
    expect(await ctl([...e, 'defrag'])).toMatchObject({ code: 0, stdout: `Finished defragmenting etcd member[${m.endpoint}]\n` });
    const after = await dbSize(e);
    expect(after.dbSize).toBeLessThan(300_000);
    expect(after.dbSize).toBeLessThan(before);
    expect(await ctl([...e, 'alarm', 'disarm'])).toMatchObject({ code: 0 });
    expect(await ctl([...e, 'put', 'small', 'x'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect((await ctl([...e, 'alarm', 'list'])).stdout).toBe('');
    // Still fine after a restart.
    await m.stop();
    await m.start();
    expect(await ctl([...e, 'put', 'small2', 'y'])).toMatchObject({ code: 0, stdout: 'OK\n' });
  }, 120_000);
});

describe('auto compaction', () => {
  /** Waits until a read at `rev` fails with `compacted` (or the deadline passes). */
  async function waitCompacted(e: string[], rev: number, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await ctl([...e, 'get', 'k', `--rev=${rev}`]);
      if (r.code !== 0) return r.stderr;
      if (Date.now() > deadline) throw new Error(`revision ${rev} was not compacted within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  it('periodic: history older than the retention is compacted by the leader', async () => {
    const m = await start(['--auto-compaction-mode=periodic', '--auto-compaction-retention=3s']);
    const e = [`--endpoints=${m.endpoint}`];
    // Through one client, not a cairnctl process per put: on busy cores five process starts
    // can take longer than the retention, and revision 2 would be gone before it is read.
    const client = new CairnClient({ endpoints: [m.endpoint] });
    try {
      for (let i = 0; i < 5; i++) await client.kv.put('k', `v${i}`);
      // Revision 2 is the first put: readable now, compacted once 3 s have passed (and a sample).
      const first = await client.kv.get('k', { revision: 2n });
      expect(first === undefined ? undefined : new TextDecoder().decode(first.value)).toBe('v0');
    } finally {
      client.close();
    }
    const err = await waitCompacted(e, 2, 15_000);
    expect(err).toMatch(/required revision has been compacted/);
    expect(m.log).toMatch(/auto compaction: compacted/);
    // The latest value is kept.
    expect((await ctl([...e, 'get', 'k', '--print-value-only'])).stdout).toBe('v4\n');
  }, 60_000);

  it('revision: keeps the last N revisions', async () => {
    const m = await start(['--auto-compaction-mode=revision', '--auto-compaction-retention=10', '--auto-compaction-check-interval=200ms']);
    const e = [`--endpoints=${m.endpoint}`];
    const client = new CairnClient({ endpoints: [m.endpoint] });
    try {
      let rev = 0;
      for (let i = 0; i < 30; i++) rev = Number((await client.kv.put('k', `v${i}`)).header.revision);
      const err = await waitCompacted(e, rev - 15, 15_000);
      expect(err).toMatch(/required revision has been compacted/);
      // Within the retention, reads still work.
      expect((await ctl([...e, 'get', 'k', `--rev=${rev - 5}`, '--print-value-only'])).stdout).toBe('v24\n');
    } finally {
      client.close();
    }
  }, 60_000);

  it('refuses a retention it cannot parse', async () => {
    const dir = tempDir('cairn-space-');
    dirs.push(dir);
    const m = new Member({ name: 'bad', dataDir: join(dir, 'bad.cairn'), clientPort: await freePort(), peerPort: await freePort(), extraArgs: ['--auto-compaction-mode=revision', '--auto-compaction-retention=1h'] });
    members.push(m);
    await expect(m.start(3000)).rejects.toThrow(/number of revisions in revision mode/);
  }, 30_000);
});
