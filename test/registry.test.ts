/**
 * @cairn/registry against real members: registration with heartbeats, live discovery, a
 * registered process killed with kill -9, SIGTERM deregistration, and 50 instances through a
 * member restart on a 3-member cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, ErrorCode } from '@cairn/client';
import { discover, register, type Registration, type ServiceChange, type ServiceView } from '@cairn/registry';
import { Gate, ROOT, singleMember, waitFor, type Member } from './support/process.js';
import { TestCluster } from './support/cluster.js';

const REGISTRANT = fileURLToPath(new URL('./support/registrant.mjs', import.meta.url));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A child process holding one registration (see support/registrant.mjs). */
async function registrant(endpoints: string, service: string, id: string, ttlSeconds: number): Promise<{ proc: ChildProcess; exited: () => boolean }> {
  const proc = spawn(process.execPath, [REGISTRANT, endpoints, service, id, '9000', String(ttlSeconds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let code: number | null | undefined;
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  proc.on('exit', (c, s) => (code = c ?? (s !== null ? 128 : -1)));
  cleanups.push(() => proc.kill('SIGKILL'));
  await waitFor(`${id} to register (output: ${out})`, () => {
    if (code !== undefined) throw new Error(`registrant exited ${code}: ${out}`);
    return out.includes('registered');
  });
  return { proc, exited: () => code !== undefined };
}

function ids(view: ServiceView): string[] {
  return view.instances().map((i) => i.id);
}

describe('registry on one member', () => {
  let member: Member;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ member, cleanup } = await singleMember()));
  afterAll(async () => cleanup?.());
  const client = (): CairnClient => {
    const c = new CairnClient({ endpoints: [member.endpoint] });
    cleanups.push(() => c.close());
    return c;
  };

  it('register, discover, update and close; events in order; malformed values are skipped and reported', async () => {
    const c = client();
    const view = await discover(c, 'payments');
    cleanups.push(() => view.close());
    const changes: ServiceChange[] = [];
    view.on('change', (ch: ServiceChange) => changes.push(ch));
    const invalid: string[] = [];
    view.on('invalid', (e: Error) => invalid.push(e.message));

    const a = await register(c, { service: 'payments', id: 'pay-1', address: '10.0.0.1', port: 8080, metadata: { zone: 'a' } });
    const b = await register(c, { service: 'payments', id: 'pay-2', address: '10.0.0.2', port: 8080, weight: 3 });
    await waitFor('both instances in view', () => view.size === 2);
    expect(view.get('pay-1')).toMatchObject({ address: '10.0.0.1', port: 8080, metadata: { zone: 'a' }, weight: 1 });
    expect(await c.kv.getString('services/payments/pay-2')).toContain('"weight":3');

    await c.kv.put('services/payments/garbage', '{not json');
    await waitFor('the malformed value reported', () => invalid.length === 1);
    expect(invalid[0]).toMatch(/services\/payments\/garbage: not JSON/);
    expect(ids(view)).toEqual(['pay-1', 'pay-2']);

    await a.update({ weight: 5 });
    await waitFor('the update seen', () => view.get('pay-1')?.weight === 5);
    await b.close();
    await waitFor('pay-2 gone at once on close', () => view.size === 1);
    expect(changes.map((ch) => `${ch.type} ${ch.instance.id}`)).toEqual(['added pay-1', 'added pay-2', 'updated pay-1', 'removed pay-2']);
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.revision).toBeGreaterThan(changes[i - 1]!.revision);

    await expect(register(c, { service: 'a/b', id: 'x', address: 'h', port: 1 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await expect(register(c, { service: 'svc', id: 'x', address: 'h', port: 70000 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    await a.close();
  });

  it('pickers: round-robin visits every instance in turn, weighted follows the weights', async () => {
    const c = client();
    const regs: Registration[] = [];
    for (const [id, weight] of [['w1', 1], ['w2', 0], ['w3', 3]] as const) {
      regs.push(await register(c, { service: 'pick', id, address: '127.0.0.1', port: 1, weight }));
    }
    const view = await discover(c, 'pick');
    cleanups.push(() => view.close());
    expect([1, 2, 3, 4, 5, 6].map(() => view.pick()?.id)).toEqual(['w1', 'w2', 'w3', 'w1', 'w2', 'w3']);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const id = view.pick('weighted')!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.get('w2')).toBeUndefined();
    expect(counts.get('w3')! / counts.get('w1')!).toBeGreaterThan(2.4);
    expect(counts.get('w3')! / counts.get('w1')!).toBeLessThan(3.7);
    expect(new Set([...Array(200)].map(() => view.pick('random')!.id))).toEqual(new Set(['w1', 'w2', 'w3']));
    for (const r of regs) await r.close();
    await waitFor('empty view', () => view.size === 0);
    expect(view.pick()).toBeUndefined();
  });

  it('re-registers after its lease is lost', async () => {
    const c = client();
    const reg = await register(c, { service: 'phoenix', id: 'p1', address: '127.0.0.1', port: 1, ttlSeconds: 5 });
    cleanups.push(() => reg.close());
    const first = reg.lease!;
    const again = new Promise<void>((resolve) => reg.once('registered', () => resolve()));
    await c.lease.revoke(first);
    await again;
    expect(reg.lease).not.toBe(first);
    const kv = await c.kv.get('services/phoenix/p1');
    expect(kv?.lease).toBe(reg.lease);
  });

  it('a view cut off while the history it needs is compacted reads afresh and reports the difference', async () => {
    const c = client();
    const gate = await Gate.to(member.endpoint);
    cleanups.push(() => gate.close());
    const behind = new CairnClient({ endpoints: [gate.endpoint] });
    cleanups.push(() => behind.close());
    const base = { service: 'gated', address: '127.0.0.1', port: 1 };
    const stay = await register(c, { ...base, id: 'stay' });
    const goes = await register(c, { ...base, id: 'goes' });
    const view = await discover(behind, 'gated');
    cleanups.push(() => view.close());
    await waitFor('both in the gated view', () => view.size === 2);
    const changes: string[] = [];
    view.on('change', (ch: ServiceChange) => changes.push(`${ch.type} ${ch.instance.id}`));
    const reloads: string[] = [];
    view.on('invalid', (e: Error) => reloads.push(e.message));
    gate.cut();
    await goes.close();
    const comes = await register(c, { ...base, id: 'comes' });
    const last = await c.kv.put('gated-unrelated', 'x');
    await c.kv.compact(last.header.revision, { physical: true });
    gate.reopen();
    await waitFor('the view to catch up past the compaction', () => JSON.stringify(ids(view)) === '["comes","stay"]', 20_000);
    expect(changes.sort()).toEqual(['added comes', 'removed goes']);
    // It got there by the reload: the resumed watch was refused as compacted.
    expect(reloads.some((m) => /compacted.*reloading/.test(m))).toBe(true);
    await Promise.all([stay.close(), comes.close()]);
  });

  it('a registered process killed with kill -9 disappears within its TTL; SIGTERM deregisters at once', async () => {
    const c = client();
    const view = await discover(c, 'workers');
    cleanups.push(() => view.close());
    const doomed = await registrant(member.endpoint, 'workers', 'doomed', 2);
    const polite = await registrant(member.endpoint, 'workers', 'polite', 30);
    await waitFor('both in view', () => view.size === 2);
    const killedAt = Date.now();
    doomed.proc.kill('SIGKILL');
    await waitFor('the killed instance to leave the view', () => view.get('doomed') === undefined, 10_000);
    expect(Date.now() - killedAt).toBeLessThan(2000 + 3000);
    const termAt = Date.now();
    polite.proc.kill('SIGTERM');
    await waitFor('the SIGTERMed instance to leave the view', () => view.get('polite') === undefined, 10_000);
    // Far quicker than its 30 s TTL: it deregistered on the signal, then exited.
    expect(Date.now() - termAt).toBeLessThan(5000);
    await waitFor('the process to exit after deregistering', () => polite.exited(), 10_000);
  });
});

describe('registry on a 3-member cluster', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.cleanup();
    cluster = undefined;
  });

  it('50 instances; one killed is gone from every view within its TTL; a member restart brings no duplicates', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const ttlSeconds = 3;
    const views: ServiceView[] = [];
    for (let i = 0; i < 3; i++) {
      const c = cluster.client([i, (i + 1) % 3]);
      const v = await discover(c, 'fleet');
      views.push(v);
      cleanups.push(() => v.close());
    }
    // Instance 0 lives in its own process; the other 49 share 7 clients spread over the members.
    const killed = await registrant(cluster.endpoints.join(','), 'fleet', 'i00', ttlSeconds);
    const clients = Array.from({ length: 7 }, (_, i) => cluster!.client([i % 3, (i + 1) % 3, (i + 2) % 3]));
    const regs = await Promise.all(
      Array.from({ length: 49 }, (_, i) =>
        register(clients[i % 7]!, { service: 'fleet', id: `i${String(i + 1).padStart(2, '0')}`, address: '127.0.0.1', port: 9000 + i, ttlSeconds }),
      ),
    );
    cleanups.push(async () => Promise.all(regs.map((r) => r.close().catch(() => undefined))));
    await waitFor('every view to hold 50', () => views.every((v) => v.size === 50), 20_000);

    const killedAt = Date.now();
    killed.proc.kill('SIGKILL');
    await waitFor('i00 gone from every view', () => views.every((v) => v.get('i00') === undefined), 15_000);
    console.log(`registered process kill -9 -> gone from 3 views: ${Date.now() - killedAt} ms (TTL ${ttlSeconds} s)`);
    expect(Date.now() - killedAt).toBeLessThan(ttlSeconds * 1000 + 3000);
    expect(views.map((v) => v.size)).toEqual([49, 49, 49]);

    // Restart the member the first clients and the first view talk to (it may be the leader).
    await cluster.members[0]!.kill();
    await cluster.leader();
    await cluster.members[0]!.start(60_000, 'listening');
    await cluster.healthy(0);
    const expected = regs.map((r) => r.instance.id).sort();
    await waitFor('every view to hold the 49, once each', () => views.every((v) => JSON.stringify(ids(v)) === JSON.stringify(expected)), 30_000);
    const stored = await clients[0]!.kv.getPrefix('services/fleet/', { keysOnly: true });
    expect(stored.map((kv) => new TextDecoder().decode(kv.key).slice('services/fleet/'.length)).sort()).toEqual(expected);
  });
});
