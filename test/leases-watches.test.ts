/** Walkthrough section 5 (watch, leases) with real processes, and the guarantees behind them. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, CairnError, ErrorCode, op, type WatchResponse } from '@cairn/client';
import { ctl, freePort, Member, Running, singleMember, tempDir, waitFor } from './support/process.js';

let member: Member;
let cleanup: () => Promise<void>;
let e: string[];

beforeAll(async () => {
  ({ member, cleanup } = await singleMember());
  e = [`--endpoints=${member.endpoint}`];
});
afterAll(async () => cleanup?.());

const client = (endpoint = member.endpoint): CairnClient => new CairnClient({ endpoints: [endpoint] });
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Reads batches from a watch into an array as they come. */
function collect(w: AsyncIterable<WatchResponse>): { batches: WatchResponse[]; done: Promise<unknown> } {
  const batches: WatchResponse[] = [];
  const done = (async () => {
    for await (const r of w) batches.push(r);
  })().catch((err: unknown) => err);
  return { batches, done };
}

describe('leases (walkthrough 5)', () => {
  it('runs the walkthrough lease commands verbatim', async () => {
    const grant = await ctl([...e, 'lease', 'grant', '300']);
    expect(grant.code).toBe(0);
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(300s\)\n$/.exec(grant.stdout);
    expect(m).not.toBeNull();
    const id = m![1]!;
    expect(await ctl([...e, 'put', 'sample', 'value', `--lease=${id}`])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await ctl([...e, 'get', 'sample'])).toMatchObject({ code: 0, stdout: 'sample\nvalue\n' });

    const ka = new Running([...e, 'lease', 'keep-alive', id]);
    try {
      await ka.output('a keep-alive line', (o) => o.includes(`lease ${id} keepalived with TTL(300)\n`));
      expect(await ka.interrupt()).toBe(0);
    } finally {
      ka.kill();
    }
    const ttl = await ctl([...e, 'lease', 'timetolive', id, '--keys']);
    expect(ttl.stdout).toMatch(new RegExp(`^lease ${id} granted with TTL\\(300s\\), remaining\\((29\\d|300)s\\), attached keys\\(\\[sample\\]\\)\\n$`));
    expect(await ctl([...e, 'lease', 'list'])).toMatchObject({ code: 0, stdout: expect.stringContaining(`${id}\n`) as string });
    expect(await ctl([...e, 'lease', 'revoke', id])).toMatchObject({ code: 0, stdout: `lease ${id} revoked\n` });
    expect(await ctl([...e, 'get', 'sample'])).toMatchObject({ code: 0, stdout: '' });
    expect(await ctl([...e, 'lease', 'timetolive', id])).toMatchObject({ code: 0, stdout: `lease ${id} already expired\n` });
  });

  it('grants with a chosen id, prints etcdctl JSON, refuses bad input', async () => {
    expect(await ctl([...e, 'lease', 'grant', '60', '--id=2be7547fbc6a5afa'])).toMatchObject({
      code: 0,
      stdout: 'lease 2be7547fbc6a5afa granted with TTL(60s)\n',
    });
    const j = await ctl([...e, 'lease', 'timetolive', '2be7547fbc6a5afa', '-w', 'json']);
    expect(j.stdout).toMatch(/"id":3163590170849729274,"ttl":(59|60),"granted-ttl":60/);
    expect(await ctl([...e, 'lease', 'list', '-w', 'json'])).toMatchObject({ stdout: expect.stringContaining('{"id":3163590170849729274}') as string });
    expect(await ctl([...e, 'lease', 'keep-alive', '--once', '2be7547fbc6a5afa'])).toMatchObject({
      code: 0,
      stdout: 'lease 2be7547fbc6a5afa keepalived with TTL(60)\n',
    });
    const dup = await ctl([...e, 'lease', 'grant', '60', '--id=2be7547fbc6a5afa']);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('lease already exists');
    const unknown = await ctl([...e, 'put', 'k', 'v', '--lease=1234']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('requested lease not found');
    expect((await ctl([...e, 'lease', 'revoke', 'xyz'])).code).not.toBe(0);
    expect(await ctl([...e, 'lease', 'revoke', '2be7547fbc6a5afa'])).toMatchObject({ code: 0 });
  });

  it('expiry deletes every attached key in one revision, seen by watchers as one batch', async () => {
    const c = client();
    try {
      const g = await c.lease.grant(2);
      await c.kv.put('exp/a', '1', { lease: g.id });
      await c.kv.put('exp/b', '2', { lease: g.id });
      const w = c.watch('exp/', { prefix: true });
      await w.created;
      const got = collect(w);
      await waitFor('the expiry deletes', () => got.batches.length > 0, 10_000);
      expect(got.batches[0]!.events.map((ev) => [ev.type, text(ev.kv.key)])).toEqual([
        ['delete', 'exp/a'],
        ['delete', 'exp/b'],
      ]);
      expect(new Set(got.batches[0]!.events.map((ev) => ev.kv.modRevision)).size).toBe(1);
      expect((await c.lease.timeToLive(g.id)).ttlSeconds).toBe(-1);
      w.cancel();
    } finally {
      c.close();
    }
  });

  it('keep-alive keeps a key alive across many TTLs; it expires once renewals stop', async () => {
    const c = client();
    try {
      const g = await c.lease.grant(2);
      await c.kv.put('kept', 'v', { lease: g.id });
      const h = c.lease.keepAlive(g.id);
      let renewals = 0;
      h.on('keepalive', () => renewals++);
      const until = Date.now() + 7000;
      await waitFor('7 s of renewals (3.5 TTLs)', async () => {
        expect(await c.kv.get('kept')).toBeDefined();
        return Date.now() > until;
      }, 15_000, 250);
      expect(renewals).toBeGreaterThanOrEqual(4);
      h.close();
      await waitFor('the key to expire after renewals stop', async () => (await c.kv.get('kept')) === undefined, 10_000);
    } finally {
      c.close();
    }
  });

  it('a kept lease that is revoked emits lost; another lease of the same client keeps going', async () => {
    const c = client();
    try {
      const a = await c.lease.grant(5);
      const b = await c.lease.grant(5);
      const ha = c.lease.keepAlive(a.id);
      const hb = c.lease.keepAlive(b.id);
      const lost = new Promise<CairnError>((resolve) => ha.on('lost', resolve));
      await waitFor('both renewed once', () => ha.ttlSeconds === 5 && hb.ttlSeconds === 5, 10_000);
      await c.lease.revoke(a.id);
      // The next renewal (TTL/3) hears TTL 0.
      expect((await lost).code).toBe(ErrorCode.LeaseNotFound);
      expect(ha.closed).toBe(true);
      expect(hb.closed).toBe(false);
      hb.close();
      await c.lease.revoke(b.id);
    } finally {
      c.close();
    }
  });

  it('expires a lease kept alive by a client process that died (kill -9)', async () => {
    const c = client();
    try {
      const g = await c.lease.grant(2);
      await c.kv.put('dies', 'v', { lease: g.id });
      const ka = new Running([...e, 'lease', 'keep-alive', g.id.toString(16)]);
      try {
        await ka.output('the first renewal', (o) => o.includes('keepalived'));
        // Alive well past its TTL while the keeper runs.
        await waitFor('4 s with the keeper alive', async () => {
          expect(await c.kv.get('dies')).toBeDefined();
          return ka.stdout.split('\n').length > 4;
        }, 15_000, 250);
      } finally {
        ka.kill();
      }
      const killedAt = Date.now();
      await waitFor('the key to expire after the keeper died', async () => (await c.kv.get('dies')) === undefined, 10_000);
      expect(Date.now() - killedAt).toBeLessThan(5000);
    } finally {
      c.close();
    }
  });

  it('a member restart does not cut a lease short (full TTL again)', async () => {
    const dir = tempDir();
    const m = new Member({ name: 'r', dataDir: join(dir, 'r'), clientPort: await freePort(), peerPort: await freePort() });
    await m.start();
    try {
      let c = client(m.endpoint);
      const g = await c.lease.grant(6);
      await c.kv.put('survives', 'v', { lease: g.id });
      const grantedAt = Date.now();
      c.close();
      await waitFor('3 s into the lease', () => Date.now() - grantedAt > 3000, 10_000);
      await m.stop();
      await m.start();
      const restartedAt = Date.now();
      c = client(m.endpoint);
      try {
        const ttl = await c.lease.timeToLive(g.id, { keys: true });
        expect(ttl.ttlSeconds).toBeGreaterThanOrEqual(5);
        expect(ttl.keys.map(text)).toEqual(['survives']);
        // Past the original expiry the key is still there...
        await waitFor('the original expiry to pass', () => Date.now() - grantedAt > 7000, 15_000);
        expect(await c.kv.get('survives')).toBeDefined();
        // ... and it goes one full TTL after the restart.
        await waitFor('the key to expire after the restart', async () => (await c.kv.get('survives')) === undefined, 15_000);
        // The original lease had 3 s left at the restart; it got 6 s again.
        expect(Date.now() - restartedAt).toBeGreaterThan(4000);
      } finally {
        c.close();
      }
    } finally {
      await m.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('watch (walkthrough 5)', () => {
  it('cairnctl watch stock1 prints PUT/DELETE, key, value until Ctrl-C (exit 0)', async () => {
    const w = new Running([...e, 'watch', 'stock1']);
    try {
      // The watch is registered once a put shows up; keep putting until one does.
      await waitFor('the watch to see a put', async () => {
        await ctl([...e, 'put', 'stock1', '100']);
        return w.stdout.includes('PUT\nstock1\n100\n');
      }, 20_000, 300);
      await ctl([...e, 'del', 'stock1']);
      await w.output('the delete', (o) => o.endsWith('DELETE\nstock1\n\n'));
      expect(await w.interrupt()).toBe(0);
    } finally {
      w.kill();
    }
  });

  it('cairnctl watch --prefix stock --rev=N --prev-kv replays history with previous values', async () => {
    const r1 = await ctl([...e, 'put', 'stock2', 'a', '-w', 'json']);
    const rev = /"revision":(\d+)/.exec(r1.stdout)![1]!;
    await ctl([...e, 'put', 'stock2', 'b']);
    await ctl([...e, 'put', 'stock3', 'c']);
    const w = new Running([...e, 'watch', '--prefix', 'stock', `--rev=${rev}`, '--prev-kv']);
    try {
      await w.output('the replay', (o) => o.includes('PUT\nstock3\nc\n'));
      expect(w.stdout).toBe('PUT\nstock2\na\nPUT\nstock2\na\nstock2\nb\nPUT\nstock3\nc\n');
      expect(await w.interrupt()).toBe(0);
    } finally {
      w.kill();
    }
  });

  it('cairnctl watch KEY -- COMMAND runs the command per event with CAIRN_WATCH_* set', async () => {
    await ctl([...e, 'put', 'cmdkey', 'x']);
    const r1 = await ctl([...e, 'put', 'cmdkey', 'y', '-w', 'json']);
    const rev = /"revision":(\d+)/.exec(r1.stdout)![1]!;
    const w = new Running([...e, 'watch', 'cmdkey', `--rev=${rev}`, '--', 'sh', '-c', 'echo "$CAIRN_WATCH_EVENT_TYPE $CAIRN_WATCH_KEY=$CAIRN_WATCH_VALUE @$CAIRN_WATCH_REVISION"']);
    try {
      await ctl([...e, 'del', 'cmdkey']);
      await w.output('two command runs', (o) => o.split('\n').length >= 3);
      expect(w.stdout).toBe(`PUT cmdkey=y @${rev}\nDELETE cmdkey= @${Number(rev) + 1}\n`);
      expect(await w.interrupt()).toBe(0);
    } finally {
      w.kill();
    }
  });

  it('a compacted start revision is a typed error with the compact revision', async () => {
    const c = client();
    try {
      await c.kv.put('cmp', '1');
      const r = await c.kv.put('cmp', '2');
      await c.kv.compact(r.header.revision);
      const got = collect(c.watch('cmp', { startRevision: 1 }));
      const err = await got.done;
      expect(err).toBeInstanceOf(CairnError);
      expect((err as CairnError).code).toBe(ErrorCode.Compacted);
      expect((err as CairnError).details?.compactRevision).toBe(r.header.revision);
      const out = await ctl([...e, 'watch', 'cmp', '--rev=1']);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toContain('compacted');
    } finally {
      c.close();
    }
  });

  it('prefix watch across a txn: one message; cancel ends the iteration', async () => {
    const c = client();
    try {
      const w = c.watch('tx/', { prefix: true });
      await w.created;
      const got = collect(w);
      await c.txn().then(op.put('tx/1', 'a'), op.put('tx/2', 'b'), op.put('tx/3', 'c')).commit();
      await waitFor('the txn batch', () => got.batches.length > 0, 10_000);
      expect(got.batches[0]!.events.map((ev) => text(ev.kv.key))).toEqual(['tx/1', 'tx/2', 'tx/3']);
      w.cancel();
      expect(await got.done).toBeUndefined();
    } finally {
      c.close();
    }
  });
});

describe('many watchers', () => {
  it('1,000 watchers over 10 sockets each see every revision once, in order', async () => {
    const clients = Array.from({ length: 10 }, () => client());
    const writer = client();
    try {
      const watches = Array.from({ length: 1000 }, (_, i) => clients[i % 10]!.watch('many'));
      await Promise.all(watches.map((w) => w.created));
      const got = watches.map((w) => collect(w));
      const revs: bigint[] = [];
      for (let i = 0; i < 10; i++) revs.push((await writer.kv.put('many', `${i}`)).header.revision);
      await waitFor('every watcher to see 10 events', () => got.every((g) => g.batches.flatMap((r) => r.events).length >= 10), 30_000);
      for (const g of got) expect(g.batches.flatMap((r) => r.events.map((ev) => ev.kv.modRevision))).toEqual(revs);
      for (const w of watches) w.cancel();
    } finally {
      for (const c of clients) c.close();
      writer.close();
    }
  });
});

describe('keep-alive across a member restart', () => {
  it('reopens the shared keep-alive stream and keeps the lease', async () => {
    const dir = tempDir();
    const m = new Member({ name: 'ka', dataDir: join(dir, 'ka'), clientPort: await freePort(), peerPort: await freePort() });
    await m.start();
    const c = client(m.endpoint);
    try {
      // 5 s: the restart (RocksDB reopened, an election, the client's reconnect back-off) must
      // fit inside one TTL even on two busy cores; 3 s did not always.
      const g = await c.lease.grant(5);
      await c.kv.put('kept/restart', 'v', { lease: g.id });
      const h = c.lease.keepAlive(g.id);
      let renewals = 0;
      h.on('keepalive', () => renewals++);
      let lost = false;
      h.on('lost', () => (lost = true));
      await waitFor('the first renewal', () => renewals > 0, 10_000);
      await m.stop();
      await m.start();
      const after = renewals;
      const until = Date.now() + 11_000;
      await waitFor('11 s after the restart (over 2 TTLs)', async () => {
        expect(await c.kv.get('kept/restart')).toBeDefined();
        return Date.now() > until;
      }, 30_000, 250);
      expect(renewals).toBeGreaterThan(after + 3);
      expect(lost).toBe(false);
      h.close();
    } finally {
      c.close();
      await m.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('keep-alive without a member', () => {
  it('emits lost once no renewal succeeded for a whole TTL', async () => {
    const dir = tempDir();
    const m = new Member({ name: 'k', dataDir: join(dir, 'k'), clientPort: await freePort(), peerPort: await freePort() });
    await m.start();
    const c = client(m.endpoint);
    try {
      const g = await c.lease.grant(3);
      const h = c.lease.keepAlive(g.id);
      await waitFor('the first renewal', () => h.ttlSeconds === 3, 10_000);
      const lost = new Promise<CairnError>((resolve) => h.on('lost', resolve));
      await m.kill();
      const killedAt = Date.now();
      const err = await lost;
      expect(err.code).toBe(ErrorCode.Timeout);
      // Lost after the TTL the member last granted ran out, not before, and not much later.
      expect(Date.now() - killedAt).toBeGreaterThan(1000);
      expect(Date.now() - killedAt).toBeLessThan(6000);
    } finally {
      c.close();
      await m.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('watch resume', () => {
  it('resumes after a member restart with no gap and no duplicate', async () => {
    const dir = tempDir();
    const m = new Member({ name: 'w', dataDir: join(dir, 'w'), clientPort: await freePort(), peerPort: await freePort() });
    await m.start();
    const watcher = client(m.endpoint);
    const writer = client(m.endpoint);
    try {
      const w = watcher.watch('res/', { prefix: true });
      await w.created;
      const got = collect(w);
      const put = async (i: number): Promise<void> => {
        await waitFor(`put ${i}`, async () => {
          await writer.kv.put(`res/${i % 7}`, `${i}`);
          return true;
        }, 30_000, 100);
      };
      for (let i = 0; i < 30; i++) await put(i);
      await m.stop();
      await m.start();
      for (let i = 30; i < 60; i++) await put(i);
      await waitFor('all 60 events after the restart', () => got.batches.flatMap((r) => r.events).length >= 60, 30_000);
      const revs = got.batches.flatMap((r) => r.events.map((ev) => ev.kv.modRevision));
      expect(revs.length).toBe(60);
      for (let i = 1; i < revs.length; i++) expect(revs[i]).toBe(revs[i - 1]! + 1n);
      expect(got.batches.flatMap((r) => r.events.map((ev) => text(ev.kv.value)))).toEqual(Array.from({ length: 60 }, (_, i) => `${i}`));
      w.cancel();
    } finally {
      watcher.close();
      writer.close();
      await m.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
