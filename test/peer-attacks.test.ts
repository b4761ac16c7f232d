/**
 * An outsider on the peer port (issue 12, attacks 1-5) against real 3-member clusters: the
 * default one (peers authenticated with the key derived from the initial-cluster token), one
 * with --peer-secret-file, and one with mutual TLS. The outsider knows the cluster and member
 * ids and the terms, not the secret. Afterwards the data, the member list, auth and the leader
 * are what they were on every member, writes went on, and each attempt is in the logs.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CairnClient } from '@cairn/client';
import { makePki } from './support/certs.js';
import { TestCluster } from './support/cluster.js';
import { attempt, message, peerKeyFromToken, proposalData, unsignedMembers, type Approach, type Outcome, type Target } from './support/outsider.js';
import { tempDir, waitFor } from './support/process.js';

let cluster: TestCluster | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
  for (const f of cleanups.splice(0)) f();
});

const TOKEN = 'local-cairn-cluster';
const APPROACHES: readonly Approach[] = ['no-hello', 'skip-proof', 'bad-proof'];
const text = new TextEncoder();

interface Seen {
  readonly ids: bigint[];
  readonly clusterId: bigint;
  readonly leader: bigint;
  readonly term: number;
  readonly lastIndex: number;
}

/** Each member's status, asked as root (auth is on). */
async function statuses(c: TestCluster) {
  return Promise.all(
    c.members.map(async (_, i) => {
      const client = new CairnClient({ endpoints: [c.endpoints[i]!], username: 'root', password: 'pw', dialTimeoutMs: 2000, requestTimeoutMs: 3000 });
      try {
        return await client.maintenance.status();
      } catch {
        return undefined;
      } finally {
        client.close();
      }
    }),
  );
}

/** Every member has applied as far as the most advanced one had when called. */
async function converged(c: TestCluster): Promise<void> {
  const target = (await statuses(c)).reduce((max, s) => (s !== undefined && s.raftAppliedIndex > max ? s.raftAppliedIndex : max), 0n);
  await waitFor(`every member to apply up to ${target}`, async () => (await statuses(c)).every((s) => s !== undefined && s.raftAppliedIndex >= target), 60_000, 200);
}

async function look(c: TestCluster): Promise<Seen> {
  const st = await statuses(c);
  const s0 = st[0]!;
  return {
    ids: st.map((s) => s!.header.memberId),
    clusterId: s0.header.clusterId,
    leader: s0.leader,
    term: Number(s0.raftTerm),
    lastIndex: Number(s0.raftIndex),
  };
}

/** What each member holds, as a user would compare it: keys and values, members, auth on. */
async function stateOf(c: TestCluster, i: number): Promise<{ keys: string; members: string; auth: boolean }> {
  const client = new CairnClient({ endpoints: [c.endpoints[i]!], username: 'root', password: 'pw', dialTimeoutMs: 5000, requestTimeoutMs: 10_000 });
  try {
    const kvs = await client.kv.getPrefix('k/', { serializable: true });
    const keys = kvs.map((kv) => `${Buffer.from(kv.key).toString()}=${Buffer.from(kv.value).toString()}`).join(',');
    const members = (await client.cluster.memberList()).members.map((m) => m.id.toString(16)).sort().join(',');
    const auth = (await client.auth.status()).enabled;
    return { keys, members, auth };
  } finally {
    client.close();
  }
}

/** A cluster with 50 keys and auth enabled (root/pw). */
async function seeded(o: Parameters<typeof TestCluster.create>[0]): Promise<TestCluster> {
  const c = await TestCluster.create(o);
  cluster = c;
  await c.start();
  const setup = c.client();
  for (let i = 0; i < 50; i++) await setup.kv.put(`k/${String(i).padStart(2, '0')}`, `v${i}`);
  await setup.auth.roleAdd('root');
  await setup.auth.userAdd('root', 'pw');
  await setup.auth.userGrantRole('root', 'root');
  await setup.auth.enable();
  await converged(c);
  return c;
}

/** Puts until stopped (bounded); counts what failed. */
function writer(c: TestCluster) {
  const client = new CairnClient({ endpoints: c.endpoints, username: 'root', password: 'pw', dialTimeoutMs: 5000, requestTimeoutMs: 5000 });
  let ok = 0;
  const failed: string[] = [];
  let stop = false;
  const loop = (async () => {
    for (let n = 0; !stop && n < 20_000; n++) {
      try {
        await client.kv.put(`w/${n}`, 'x');
        ok++;
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
  })();
  return {
    async end() {
      stop = true;
      await loop;
      client.close();
      return { ok, failed };
    },
  };
}

/** Attacks 1-5 of the issue against every member; every outcome, by attack. */
async function attack(c: TestCluster, s: Seen, extra: { key?: ReturnType<typeof peerKeyFromToken>; tls?: { ca: Buffer; cert?: Buffer; key?: Buffer } }): Promise<Map<string, Outcome[]>> {
  const out = new Map<string, Outcome[]>();
  const note = (what: string, o: Outcome): void => {
    out.set(what, [...(out.get(what) ?? []), o]);
  };
  const approaches: Approach[] = extra.key !== undefined ? [...APPROACHES, 'key'] : [...APPROACHES];
  const opts = { ...(extra.key !== undefined ? { key: extra.key } : {}), ...(extra.tls !== undefined ? { tls: extra.tls } : {}) };
  const targets: Target[] = s.ids.map((memberId, i) => ({ peerUrl: c.peerUrl(i), clusterId: s.clusterId, memberId }));
  const leaderIdx = s.ids.indexOf(s.leader);
  const follower = targets[(leaderIdx + 1) % targets.length]!;
  const otherFollower = s.ids[(leaderIdx + 2) % targets.length]!;
  const t = s.term;
  for (const target of targets) {
    const from = s.ids.find((id) => id !== target.memberId)!;
    for (const a of approaches) {
      // 1. A forged append: a key written, every key deleted, auth disabled.
      const entries = [
        { term: t + 1, index: s.lastIndex + 1, type: 'normal' as const, data: proposalData({ put: { key: text.encode('k/evil'), value: text.encode('x') } }) },
        { term: t + 1, index: s.lastIndex + 2, type: 'normal' as const, data: proposalData({ deleteRange: { key: text.encode('k/'), rangeEnd: text.encode('k0') } }) },
        { term: t + 1, index: s.lastIndex + 3, type: 'normal' as const, data: proposalData({ auth: { op: 'disable' } }) },
      ];
      const app = message({ type: 'MsgApp', from, to: target.memberId, term: t + 1, index: s.lastIndex, logTerm: t, commit: s.lastIndex + 3, entries });
      note('1 forged append', await attempt(target, '/raft', from, a, [{ t: 'msgs', m: [app] }], opts));
      // 2. A fake snapshot of an empty database.
      note('2 fake snapshot', await attempt(target, '/snapshot', from, a, [{ t: 'chunk', seq: 1, rows: [] }, { t: 'end', rows: 0 }], { ...opts, term: t + 1 }));
      // 3. Peer RPCs: remove a member, add one, renew a lease.
      const rpcs = [
        { t: 'rpc', id: 1, method: 'member.remove', params: { req: { id: otherFollower } } },
        { t: 'rpc', id: 2, method: 'member.remove', params: { id: otherFollower } },
        { t: 'rpc', id: 3, method: 'member.add', params: { req: { peerUrls: ['http://127.0.0.1:1'] } } },
        { t: 'rpc', id: 4, method: 'lease.renew', params: { id: 1n } },
      ];
      note('3 peer rpc', await attempt(target, '/raft', from, a, rpcs, opts));
    }
    note('members', { answers: [String(await unsignedMembers(target.peerUrl.replace(/^https/, 'http')).catch(() => 0))], refused: undefined, accepted: false });
  }
  // 4. Higher-term heartbeats every 300 ms for 10 s, to every member.
  const until = Date.now() + 10_000;
  for (let round = 0; Date.now() < until; round++) {
    const started = Date.now();
    await Promise.all(
      targets.map((target) => {
        const from = s.ids.find((id) => id !== target.memberId)!;
        const hb = message({ type: 'MsgHeartbeat', from, to: target.memberId, term: t + 100 + round, commit: 0 });
        return attempt(target, '/raft', from, approaches[round % approaches.length]!, [{ t: 'msgs', m: [hb] }], { ...opts, waitMs: 250 }).then((o) => note('4 heartbeats', o));
      }),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 300 - (Date.now() - started))));
  }
  // 5. A fake append to one follower in the current term, as the leader; and an unreadable entry.
  for (const a of approaches) {
    const fake = message({
      type: 'MsgApp',
      from: s.leader,
      to: follower.memberId,
      term: t,
      index: s.lastIndex,
      logTerm: t,
      commit: s.lastIndex,
      entries: [{ term: t, index: s.lastIndex + 1, type: 'normal', data: proposalData({ put: { key: text.encode('k/diverged'), value: text.encode('x') } }) }],
    });
    const junk = message({ type: 'MsgApp', from: s.leader, to: follower.memberId, term: t, index: s.lastIndex, logTerm: t, entries: [{ term: t, index: s.lastIndex + 1, type: 'normal', data: randomBytes(40) }] });
    note('5 fake append', await attempt(follower, '/raft', s.leader, a, [{ t: 'msgs', m: [fake] }, { t: 'msgs', m: [junk] }], opts));
  }
  return out;
}

/** The whole scenario: attacks under a write load, then everything compared. */
async function scenario(c: TestCluster, extra: Parameters<typeof attack>[2], expectLogs: readonly string[]): Promise<void> {
  const before = await look(c);
  const states = await Promise.all(c.members.map((_, i) => stateOf(c, i)));
  const w = writer(c);
  const outcomes = await attack(c, before, extra);
  const { ok, failed } = await w.end();
  const attempts = [...outcomes.values()].reduce((n, l) => n + l.length, 0);
  console.log(`peer attacks: ${attempts} attempts; ${ok} writes acknowledged during them, ${failed.length} failed`);
  // The handshake never passed for the outsider.
  for (const [what, list] of outcomes) {
    if (what === 'members') expect(list.every((o) => o.answers[0] === '401' || o.answers[0] === '0')).toBe(true);
    else expect(list.filter((o) => o.accepted), what).toEqual([]);
  }
  expect(failed.length, failed.slice(0, 5).join('; ')).toBeLessThanOrEqual(5);
  expect(ok).toBeGreaterThan(20);
  await converged(c);
  const after = await look(c);
  expect(after.leader).toBe(before.leader);
  expect(after.ids).toEqual(before.ids);
  for (let i = 0; i < c.members.length; i++) {
    expect(c.members[i]!.running, `${c.members[i]!.opts.name} still runs`).toBe(true);
    expect(await stateOf(c, i)).toEqual(states[i]);
  }
  expect(states[0]!.keys.split(',')).toHaveLength(50);
  expect(states[0]!.auth).toBe(true);
  // Every attempt is in the log of the member it was made against, and counted.
  for (const m of c.members) for (const line of expectLogs) expect(m.log, `${m.opts.name}: ${line}`).toContain(line);
  if (expectLogs === REFUSALS) for (const m of c.members) expect(await refusedCount(m.endpoint, 'badProof')).toBeGreaterThan(0);
}

/** cairn_peer_refused_total for one reason, from a member's /metrics. */
async function refusedCount(endpoint: string, reason: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text();
  const m = new RegExp(`^cairn_peer_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

const REFUSALS: readonly string[] = [
  'peer port: refused a peer frame before the handshake',
  'peer port: refused a peer that could not prove it holds the peer secret',
  'peer port: refused an unsigned or wrongly signed GET /members',
];

describe('an outsider on the peer port', () => {
  it('changes nothing on a default cluster (key derived from the initial-cluster token)', async () => {
    const c = await seeded({ token: TOKEN });
    await scenario(c, {}, REFUSALS);
  });

  it('changes nothing with --peer-secret-file, even knowing the initial-cluster token', async () => {
    const dir = tempDir('cairn-secret-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const secret = join(dir, 'peer-secret');
    writeFileSync(secret, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const c = await seeded({ token: TOKEN, extraYaml: [`peer-secret-file: ${secret}`] });
    await scenario(c, { key: peerKeyFromToken(TOKEN) }, REFUSALS);
  });

  it('changes nothing with mutual TLS: no certificate, another CA, or a certificate of the CA with another CN', async () => {
    const pkiDir = tempDir('cairn-pki-');
    cleanups.push(() => rmSync(pkiDir, { recursive: true, force: true }));
    const pki = makePki(pkiDir);
    const peer = pki.peer('peer');
    const c = await seeded({
      token: TOKEN,
      peerScheme: 'https',
      extraYaml: [`peer-cert-file: ${peer.cert}`, `peer-key-file: ${peer.key}`, `peer-trusted-ca-file: ${pki.caCert}`, 'peer-client-cert-auth: true', 'peer-cert-allowed-cn: peer'],
    });
    const ca = pki.read(pki.caCert);
    const intruder = pki.peer('intruder');
    const wrong = pki.peer('peer', true);
    // No certificate at all: the TLS handshake fails before any frame.
    await scenario(c, { tls: { ca } }, ['peer TLS handshake failed']);
    // A certificate from another CA, then one of the right CA with another common name.
    const s = await look(c);
    const target = { peerUrl: c.peerUrl(0), clusterId: s.clusterId, memberId: s.ids[0]! };
    const hb = message({ type: 'MsgHeartbeat', from: s.ids[1]!, to: s.ids[0]!, term: s.term + 50 });
    for (const cert of [wrong, intruder]) {
      const o = await attempt(target, '/raft', s.ids[1]!, 'bad-proof', [{ t: 'msgs', m: [hb] }], { tls: { ca, cert: pki.read(cert.cert), key: pki.read(cert.key) } });
      expect(o.accepted).toBe(false);
      expect(o.answers).toEqual([]);
    }
    await waitFor('the refused common name in the log', () => c.members[0]!.log.includes('refused a peer certificate that is not allowed'), 10_000);
    expect((await look(c)).leader).toBe(s.leader);
  });

  it('a holder of the key (the weak default) still cannot pose as a non-member, rewrite committed entries or stop a member with an unreadable entry', async () => {
    const c = await seeded({ token: TOKEN });
    const s = await look(c);
    const key = peerKeyFromToken(TOKEN);
    const states = await Promise.all(c.members.map((_, i) => stateOf(c, i)));
    const lead = s.ids.indexOf(s.leader);
    const f = (lead + 1) % 3;
    const target = { peerUrl: c.peerUrl(f), clusterId: s.clusterId, memberId: s.ids[f]! };
    // Not a member: refused after the handshake.
    const stranger = await attempt(target, '/raft', 0x1337n, 'key', [], { key });
    expect(stranger.refused).toBe('not_member');
    // As the other follower, claiming to lead the current term: two leaders in one term.
    const other = s.ids[(lead + 2) % 3]!;
    const claim = message({ type: 'MsgApp', from: other, to: target.memberId, term: s.term, index: s.lastIndex, logTerm: s.term, entries: [] });
    // As the leader: rewriting committed entry 1, and an entry no member can apply.
    const rewrite = message({ type: 'MsgApp', from: s.leader, to: target.memberId, term: s.term, index: 0, logTerm: 0, entries: [{ term: 999, index: 1, type: 'normal', data: new Uint8Array() }] });
    const junk = message({ type: 'MsgApp', from: s.leader, to: target.memberId, term: s.term, index: s.lastIndex, logTerm: s.term, entries: [{ term: s.term, index: s.lastIndex + 1, type: 'normal', data: randomBytes(40) }] });
    await attempt(target, '/raft', other, 'key', [{ t: 'msgs', m: [claim] }], { key });
    await attempt(target, '/raft', s.leader, 'key', [{ t: 'msgs', m: [rewrite] }, { t: 'msgs', m: [junk] }], { key });
    // A snapshot from a member that does not lead the current term.
    const snap = await attempt(target, '/snapshot', other, 'key', [], { key, term: s.term });
    expect(snap.accepted).toBe(false);
    const lines = ['safety violation: refused a raft message', 'refused a raft message carrying an entry this member cannot apply', 'a peer that is not a member of this cluster'];
    await waitFor('the refusals in the log', () => lines.every((l) => c.members[f]!.log.includes(l)), 10_000);
    expect(c.members[f]!.log.match(/safety violation: refused a raft message/g)!.length).toBeGreaterThanOrEqual(2);
    expect(await refusedCount(c.members[f]!.endpoint, 'safetyViolation')).toBeGreaterThanOrEqual(2);
    expect(await refusedCount(c.members[f]!.endpoint, 'unreadableEntry')).toBeGreaterThanOrEqual(1);
    await converged(c);
    expect(c.members[f]!.running).toBe(true);
    for (let i = 0; i < 3; i++) expect(await stateOf(c, i)).toEqual(states[i]);
  });
});
