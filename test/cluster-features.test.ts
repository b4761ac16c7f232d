/**
 * Leases, watches, auth and peer TLS on a real 3-member cluster: a watch that moves to another
 * member when its member dies resumes with no gap and no duplicate; a lease is not cut short by
 * a leader change; walkthrough section 3 works with auth on across members; a peer without a
 * certificate from the peer CA is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CairnClient, type WatchResponse } from '@cairn/client';
import { rmSync } from 'node:fs';
import { ctl, tempDir, waitFor } from './support/process.js';
import { TestCluster } from './support/cluster.js';
import { makePki } from './support/certs.js';

let cluster: TestCluster | undefined;
const extraCleanup: (() => void)[] = [];
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
  for (const f of extraCleanup.splice(0)) f();
});

describe('features across members', () => {
  it('a watch resumes on another member when its member is killed: every revision once, in order', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const leader = await cluster.leader();
    const watched = (leader + 1) % 3;
    const other = (leader + 2) % 3;
    // The watcher's client knows two members and starts on the follower it will lose.
    const watcher = cluster.client([watched, other]);
    const writer = cluster.client([leader, other]);
    const seen: bigint[] = [];
    const w = watcher.watch('w/', { prefix: true });
    const reading = (async () => {
      for await (const batch of w as AsyncIterable<WatchResponse>) for (const e of batch.events) seen.push(e.kv.modRevision);
    })();
    await waitFor('the watch to be on its member', () => watcher.activeEndpoint === cluster!.endpoints[watched], 10_000);
    const revs: bigint[] = [];
    for (let i = 0; i < 50; i++) revs.push((await writer.kv.put(`w/${i}`, String(i))).header.revision);
    await waitFor('the first 50 events', () => seen.length >= 50, 10_000);
    await cluster.members[watched]!.kill();
    for (let i = 50; i < 150; i++) revs.push((await writer.kv.put(`w/${i % 7}`, String(i))).header.revision);
    await waitFor('every event after the move', () => seen.length >= 150, 30_000);
    expect(watcher.activeEndpoint).toBe(cluster.endpoints[other]);
    expect(seen).toEqual(revs);
    w.cancel();
    await reading;
  });

  it('a lease kept alive through a follower survives a leader kill; an idle lease is not cut short by the election', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const leader = await cluster.leader();
    const followers = [0, 1, 2].filter((i) => i !== leader);
    const client = cluster.client(followers);
    const kept = await client.lease.grant(4);
    await client.kv.put('kept', 'x', { lease: kept.id });
    const keeper = client.lease.keepAlive(kept.id);
    const idle = await client.lease.grant(8);
    const grantedAt = Date.now();
    await client.kv.put('idle', 'x', { lease: idle.id });
    await cluster.members[leader]!.kill();
    await cluster.leader();
    // Two TTLs of the kept lease after the kill: still there.
    await new Promise((r) => setTimeout(r, 8000 - (Date.now() - grantedAt) - 1500));
    expect(await client.kv.getString('kept')).toBe('x');
    // The idle lease: never before its 8 s (the new leader gives it a full TTL again).
    expect(Date.now() - grantedAt).toBeLessThan(8000);
    expect(await client.kv.getString('idle')).toBe('x');
    await waitFor('the idle lease to expire', async () => (await client.kv.get('idle')) === undefined, 20_000);
    expect(await client.kv.getString('kept')).toBe('x');
    keeper.close();
  });

  it('runs walkthrough section 3 with auth on, each step on another member', async () => {
    cluster = await TestCluster.create();
    await cluster.start();
    const ep = (i: number) => `--endpoints=${cluster!.endpoints[i % 3]}`;
    const steps: [string[], number][] = [
      [['role', 'add', 'root'], 0],
      [['user', 'add', 'root', '--new-user-password=rootpw'], 0],
      [['user', 'grant-role', 'root', 'root'], 0],
      [['role', 'add', 'role0'], 0],
      [['role', 'grant-permission', 'role0', 'readwrite', 'foo'], 0],
      [['user', 'add', 'user0', '--new-user-password=123'], 0],
      [['user', 'grant-role', 'user0', 'role0'], 0],
      [['auth', 'enable'], 0],
    ];
    for (const [i, [args, code]] of steps.entries()) expect((await ctl([ep(i), ...args])).code).toBe(code);
    expect(await ctl([ep(1), '--user=user0:123', 'put', 'foo', 'bar'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    const anonymous = await ctl([ep(2), 'get', 'foo']);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/^Error: /);
    expect(await ctl([ep(0), '--user=user0:123', 'get', 'foo'])).toMatchObject({ code: 0, stdout: 'foo\nbar\n' });
    const denied = await ctl([ep(2), '--user=user0:123', 'get', 'foo1']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('permission denied');
    const wrong = await ctl([ep(1), '--user=user0:nope', 'get', 'foo']);
    expect(wrong.stderr).toContain('authentication failed');
  });

  it('with peer TLS and peer-client-cert-auth, refuses a member whose certificate is from another CA', async () => {
    const pkiDir = tempDir('cairn-pki-');
    extraCleanup.push(() => rmSync(pkiDir, { recursive: true, force: true }));
    const pki = makePki(pkiDir);
    cluster = await TestCluster.create({
      peerScheme: 'https',
      extraYaml: (name) => {
        const c = pki.peer('peer', name === 'node3');
        return [`peer-cert-file: ${c.cert}`, `peer-key-file: ${c.key}`, `peer-trusted-ca-file: ${pki.caCert}`, 'peer-client-cert-auth: true'];
      },
    });
    await cluster.start([0, 1]);
    await cluster.members[2]!.start(30_000, 'listening');
    const client = new CairnClient({ endpoints: [cluster.endpoints[0]!] });
    try {
      await client.kv.put('tls', 'ok');
      expect(await client.kv.getString('tls')).toBe('ok');
    } finally {
      client.close();
    }
    // node3 never joins: its peers refuse its handshakes, and it has no leader.
    await waitFor('a refused peer handshake in the logs', () => cluster!.members.some((m) => m.log.includes('peer TLS handshake failed')), 20_000);
    const st = await cluster.statuses();
    expect(st[2]?.leader ?? 0n).toBe(0n);
  });
});

