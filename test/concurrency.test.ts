/**
 * @cairn/concurrency and `cairnctl lock` / `cairnctl elect` against real members: the mutex's
 * mutual exclusion and fencing, a holder's death, a leader change under a held lock, and a
 * five-worker election observed from two sides.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, CairnError, ErrorCode, bytesToString, op } from '@cairn/client';
import { Election, Mutex, Session, observeLeaders, type Leader } from '@cairn/concurrency';
import { Running, ctl, singleMember, waitFor, type Member } from './support/process.js';
import { TestCluster } from './support/cluster.js';

const clients: CairnClient[] = [];
function track(c: CairnClient): CairnClient {
  clients.push(c);
  return c;
}
const running: Running[] = [];
function run(args: string[]): Running {
  const r = new Running(args);
  running.push(r);
  return r;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const r of running.splice(0)) r.kill();
});

/** Collects an observer's leaders as they come. */
function observe(source: AsyncIterable<Leader>): Leader[] {
  const seen: Leader[] = [];
  void (async () => {
    for await (const l of source) seen.push(l);
  })().catch(() => undefined);
  return seen;
}

describe('recipes on one member', () => {
  let member: Member;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ member, cleanup } = await singleMember()));
  afterAll(async () => cleanup?.());
  const client = (): CairnClient => track(new CairnClient({ endpoints: [member.endpoint] }));

  it('a session keeps its lease alive, reports its loss, and revokes it on close', async () => {
    const c = client();
    const session = await Session.create(c, { ttlSeconds: 2 });
    // Two TTLs later the lease is still there: the keep-alive works.
    const start = Date.now();
    await waitFor('two TTLs to pass', () => Date.now() - start > 4000, 10_000, 200);
    const before = await c.lease.timeToLive(session.lease);
    expect(before.grantedTtlSeconds).toBe(2);
    expect(before.ttlSeconds).toBeGreaterThan(0);
    const lost = new Promise<CairnError>((resolve) => session.once('lost', resolve));
    await c.lease.revoke(session.lease);
    const err = await lost;
    expect(err.code).toBe(ErrorCode.SessionExpired);
    expect(session.signal.aborted).toBe(true);

    const s2 = await Session.create(c, { ttlSeconds: 30 });
    await c.kv.put('owned-by-s2', 'x', { lease: s2.lease });
    await s2.close();
    expect(await c.kv.get('owned-by-s2')).toBeUndefined();
    expect((await c.lease.timeToLive(s2.lease)).ttlSeconds).toBe(-1);

    // Adopting an existing lease: its TTL is the granted one; close revokes it too.
    const granted = await c.lease.grant(40);
    const adopted = await Session.create(c, { lease: granted.id });
    expect([adopted.lease, adopted.ttlSeconds]).toEqual([granted.id, 40]);
    await adopted.close();
    expect((await c.lease.timeToLive(granted.id)).ttlSeconds).toBe(-1);
    await expect(Session.create(c, { lease: granted.id })).rejects.toMatchObject({ code: ErrorCode.LeaseNotFound });
    await expect(Session.create(c, { ttlSeconds: 0 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('tryLock, lock with timeout and abort, and a waiter giving up never blocks the next one', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(async () => Session.create(client(), { ttlSeconds: 30 })));
    const ma = new Mutex(a!, 'mtx');
    expect(await ma.tryLock()).toBe(true);
    expect(ma.key).toBe(`mtx/${a!.leaseHex}`);
    expect(await new Mutex(b!, 'mtx').tryLock()).toBe(false);
    // The failed tryLock left nothing behind.
    expect((await a!.client.kv.getPrefix('mtx/')).map((kv) => bytesToString(kv.key))).toEqual([ma.key]);

    await expect(new Mutex(b!, 'mtx').lock({ timeoutMs: 300 })).rejects.toMatchObject({ code: ErrorCode.Timeout });
    const ac = new AbortController();
    const mb = new Mutex(b!, 'mtx');
    const bWaits = mb.lock({ signal: ac.signal });
    const mc = new Mutex(c!, 'mtx');
    const cWaits = mc.lock();
    await waitFor('three keys queued', async () => (await a!.client.kv.getPrefix('mtx/')).length === 3);
    ac.abort();
    await expect(bWaits).rejects.toMatchObject({ code: ErrorCode.Canceled });
    await ma.unlock();
    await cWaits;
    expect(mc.isLocked).toBe(true);
    expect(await mc.holder()).toBe(mc.key);
    expect(mc.revision).toBeGreaterThan(0n);
    await mc.unlock();
    expect(await a!.client.kv.getPrefix('mtx/')).toEqual([]);
    await Promise.all([a!, b!, c!].map((s) => s.close()));
  });

  it('a fenced write of a holder whose session expired is refused', async () => {
    const c = client();
    const s1 = await Session.create(c, { ttlSeconds: 30 });
    const m1 = await new Mutex(s1, 'fence').lock();
    const fenced = (m: Mutex, v: string) => c.txn().if(m.isOwner()).then(op.put('fenced', v)).commit();
    expect((await fenced(m1, 'one')).succeeded).toBe(true);
    // The lease goes (as if the holder stalled past its TTL); someone else takes the lock.
    await c.lease.revoke(s1.lease);
    const s2 = await Session.create(c, { ttlSeconds: 30 });
    const m2 = await new Mutex(s2, 'fence').lock();
    expect(m2.revision).toBeGreaterThan(m1.revision);
    expect((await fenced(m1, 'stale')).succeeded).toBe(false);
    expect((await fenced(m2, 'two')).succeeded).toBe(true);
    expect(await c.kv.getString('fenced')).toBe('two');
    await s2.close();
  });

  it('an election: campaign, leader, proclaim, resign, and a re-campaign on the same session', async () => {
    const [s1, s2] = await Promise.all([Session.create(client(), { ttlSeconds: 30 }), Session.create(client(), { ttlSeconds: 30 })]);
    const e1 = new Election(s1!, 'team');
    const e2 = new Election(s2!, 'team');
    const seen = observe(observeLeaders(s1!.client, 'team'));
    await e1.campaign('alice');
    let second = false;
    const e2Wins = e2.campaign('bob').then(() => (second = true));
    await waitFor('bob queued', async () => (await s1!.client.kv.getPrefix('team/')).length === 2);
    expect(second).toBe(false);
    await expect(e2.proclaim('bob!')).rejects.toMatchObject({ code: ErrorCode.ElectionNotLeader });
    expect((await e1.leader())?.value).toBe('alice');
    await e1.proclaim('alice v2');
    expect((await e2.leader())?.value).toBe('alice v2');
    // Campaigning again on the same session keeps the place and updates the value.
    await e1.campaign('alice v3');
    expect((await e1.leader())?.value).toBe('alice v3');
    await e1.resign();
    await e2Wins;
    expect(e2.isLeader).toBe(true);
    expect((await e1.leader())?.value).toBe('bob');
    await waitFor('the observer to see four changes', () => seen.length === 4);
    expect(seen.map((l) => l.value)).toEqual(['alice', 'alice v2', 'alice v3', 'bob']);
    await e2.resign();
    expect(await e1.leader()).toBeUndefined();
    await Promise.all([s1!.close(), s2!.close()]);
  });

  it('cairnctl lock prints the key, holds it until Ctrl-C, and runs a command under the lock with its exit code', async () => {
    const e = `--endpoints=${member.endpoint}`;
    const a = run([e, 'lock', 'lock1']);
    await a.output('the lock key', (o) => /^lock1\/[0-9a-f]+\n\n$/.test(o));
    const b = run([e, 'lock', 'lock1']);
    await waitFor('b to queue', async () => (await ctl([e, 'get', '--prefix', 'lock1/', '--keys-only'])).stdout.split('\n').filter((l) => l !== '').length === 2);
    expect(b.stdout).toBe('');
    expect(await a.interrupt()).toBe(0);
    await b.output('b to get the lock', (o) => o.startsWith('lock1/'));
    expect(b.stdout).not.toBe(a.stdout);
    expect(await b.interrupt()).toBe(0);
    const job = await ctl([e, 'lock', 'lock1', '--', 'sh', '-c', 'echo "held $CAIRN_LOCK_KEY at $CAIRN_LOCK_REV"; exit 7']);
    expect(job.code).toBe(7);
    expect(job.stdout).toMatch(/^held lock1\/[0-9a-f]+ at \d+\n$/);
    expect((await ctl([e, 'get', '--prefix', 'lock1/'])).stdout).toBe('');
    const bad = await ctl([e, 'lock']);
    expect(bad).toMatchObject({ code: 128, stderr: 'Error: lock takes a lock name argument and an optional command to execute.\n' });
    expect((await ctl([e, 'lock', 'x', '--ttl=0'])).stderr).toMatch(/^Error: invalid argument "0" for "--ttl" flag/);
  });
});

describe('recipes on a 3-member cluster', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.cleanup();
    cluster = undefined;
  });

  it('20 clients increment one counter under the lock with fenced writes; the total is exact', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const rounds = 5;
    const revisions: bigint[] = [];
    const workers = Array.from({ length: 20 }, async (_, i) => {
      const c = track(cluster!.client([i % 3, (i + 1) % 3]));
      const session = await Session.create(c, { ttlSeconds: 10 });
      for (let r = 0; r < rounds; r++) {
        const m = await new Mutex(session, 'counter-lock').lock({ timeoutMs: 60_000 });
        revisions.push(m.revision);
        const v = Number((await c.kv.getString('counter')) ?? '0');
        const res = await c.txn().if(m.isOwner()).then(op.put('counter', String(v + 1))).commit();
        expect(res.succeeded).toBe(true);
        await m.unlock();
      }
      await session.close();
    });
    await Promise.all(workers);
    const check = track(cluster.client());
    expect(await check.kv.getString('counter')).toBe('100');
    // Fencing tokens grow strictly from one holder to the next.
    expect(revisions.length).toBe(100);
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]!).toBeGreaterThan(revisions[i - 1]!);
    expect(await check.kv.getPrefix('counter-lock/')).toEqual([]);
  });

  it('a holder killed with kill -9 loses the lock within its TTL and the next waiter gets it', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const ttlSeconds = 2;
    const holder = run([`--endpoints=${cluster.endpoints[0]}`, 'lock', `--ttl=${ttlSeconds}`, 'jobs']);
    await holder.output('the holder to print its key', (o) => o.startsWith('jobs/'));
    const c = track(cluster.client([1, 2]));
    const session = await Session.create(c, { ttlSeconds: 10 });
    const waiter = new Mutex(session, 'jobs');
    let acquiredAt = 0;
    const acquired = waiter.lock({ timeoutMs: 30_000 }).then(() => (acquiredAt = Date.now()));
    await waitFor('the waiter to queue', async () => (await c.kv.getPrefix('jobs/')).length === 2);
    expect(acquiredAt).toBe(0);
    const killedAt = Date.now();
    await holder.killed();
    await acquired;
    console.log(`lock holder kill -9 -> next waiter holds it: ${acquiredAt - killedAt} ms (TTL ${ttlSeconds} s)`);
    expect(acquiredAt - killedAt).toBeLessThan(ttlSeconds * 1000 + 3000);
    expect(waiter.key).toBe(`jobs/${session.leaseHex}`);
    await waiter.unlock();
    await session.close();
  });

  it('a lock is held across a leader change; the holder still writes fenced, then hands over', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const leader = await cluster.leader();
    const others = [0, 1, 2].filter((i) => i !== leader);
    const holderClient = track(cluster.client(others));
    const waiterClient = track(cluster.client([leader, ...others]));
    const holderSession = await Session.create(holderClient, { ttlSeconds: 10 });
    const held = await new Mutex(holderSession, 'ha').lock();
    const waiterSession = await Session.create(waiterClient, { ttlSeconds: 10 });
    const next = new Mutex(waiterSession, 'ha');
    const nextAcquired = next.lock({ timeoutMs: 60_000 });
    await waitFor('the waiter to queue', async () => (await holderClient.kv.getPrefix('ha/')).length === 2);
    await cluster.members[leader]!.kill();
    await cluster.leader();
    // Writes may fail while there is no leader; the fenced write lands once there is one.
    await waitFor('a fenced write after the leader change', async () => {
      try {
        return (await holderClient.txn().if(held.isOwner()).then(op.put('ha-data', 'from the first holder')).commit()).succeeded;
      } catch (err) {
        if (err instanceof CairnError && err.retryable) return false;
        throw err;
      }
    }, 30_000);
    expect(holderSession.endedWith).toBeUndefined();
    await held.unlock();
    await nextAcquired;
    expect((await waiterClient.txn().if(next.isOwner()).then(op.put('ha-data', 'from the second')).commit()).succeeded).toBe(true);
    expect(await waiterClient.kv.getString('ha-data')).toBe('from the second');
    await next.unlock();
    await Promise.all([holderSession.close(), waiterSession.close()]);
  });

  it('five workers elect one leader at a time; kill -9 or resign elects the next; both observers see every change in order', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const c = track(cluster.client());
    const seen = observe(observeLeaders(c, 'workers'));
    const listener = run([`--endpoints=${cluster.endpoints[2]}`, 'elect', '-l', 'workers']);
    const workers: Running[] = [];
    for (let i = 0; i < 5; i++) {
      workers.push(run([`--endpoints=${cluster.endpoints[i % 3]}`, 'elect', '--ttl=2', 'workers', `w${i}`]));
      // Queue them in a known order.
      await waitFor(`w${i} to campaign`, async () => (await c.kv.getPrefix('workers/')).length === i + 1);
    }
    const printed = (): string[] => workers.map((w, i) => (w.stdout.includes(`\nw${i}\n`) ? `w${i}` : '')).filter((w) => w !== '');
    await workers[0]!.output('w0 elected', (o) => o.endsWith('\nw0\n'));
    expect(printed()).toEqual(['w0']);

    const killedAt = Date.now();
    await workers[0]!.killed();
    await workers[1]!.output('w1 elected after w0 was killed', (o) => o.endsWith('\nw1\n'), 10_000);
    console.log(`election leader kill -9 -> next leader elected: ${Date.now() - killedAt} ms (TTL 2 s)`);
    expect(Date.now() - killedAt).toBeLessThan(2000 + 3000);
    expect(await workers[1]!.interrupt()).toBe(0);
    await workers[2]!.output('w2 elected after w1 resigned', (o) => o.endsWith('\nw2\n'));
    expect(printed()).toEqual(['w0', 'w1', 'w2']);
    expect(workers.filter((w) => w.code === undefined && printed().some((p) => w.stdout.includes(`\n${p}\n`)))).toHaveLength(1);

    await waitFor('the observer to see three leaders', () => seen.length >= 3);
    expect(seen.map((l) => l.value)).toEqual(['w0', 'w1', 'w2']);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.observedRevision).toBeGreaterThan(seen[i - 1]!.observedRevision);
      expect(seen[i]!.revision).toBeGreaterThan(seen[i - 1]!.revision);
    }
    // Exactly one leader at each observed revision: the oldest campaign still standing, as the
    // store itself says at that revision; and a different one just before it changed.
    for (const l of seen) {
      const at = await c.kv.range({ key: 'workers/', prefix: true, revision: l.observedRevision, sortTarget: 'create', limit: 1 });
      expect(bytesToString(at.kvs[0]!.key)).toBe(l.key);
    }
    const keys = seen.map((l) => l.key);
    await listener.output('cairnctl elect -l to print the same leaders', (o) => o === keys.map((k, i) => `${k}\nw${i}\n`).join(''));
  });
});
