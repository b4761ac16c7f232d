import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeValue } from '@cairn/protocol';
import { LocalNet } from '../testing/localNet.js';
import { b, s } from '../testing/harness.js';
import { RaftDriver } from './driver.js';
import { INSTALL_MARKER_KEY, stageOps } from './snapshot.js';
import { LogStorage } from './logStorage.js';
import { metaKey, MetaKey, historyKey } from '../storage/keyspace.js';
import { encodeConfState } from '../apply/membership.js';
import { MemoryBackend } from '../storage/memory.js';
import { Applier } from '../apply/applier.js';

let net: LocalNet | undefined;
afterEach(async () => {
  await net?.closeAll();
  net = undefined;
});

const value = async (m: { range: (r: { key: Uint8Array; serializable?: boolean }) => Promise<{ kvs: { value: Uint8Array }[] }> }, key: string, serializable = false): Promise<string | undefined> => {
  const kv = (await m.range({ key: b(key), serializable })).kvs[0];
  return kv === undefined ? undefined : s(kv.value);
};

describe('members of one cluster (in one process, real driver and storage)', () => {
  it('replicate writes proposed anywhere; a follower forwards them and reads its own writes', async () => {
    net = new LocalNet(3);
    const [a, b2, c] = await net.startAll();
    const leader = await net.leader();
    const follower = [a!, b2!, c!].find((m) => m !== leader)!;
    // The leader may know it leads a moment before the follower hears of it.
    await vi.waitFor(() => expect(follower.leaderId).toBe(leader.memberId));
    const r = await follower.propose({ put: { key: b('k'), value: b('from a follower') } });
    expect(r.header.memberId).toBe(follower.memberId);
    expect(await value(follower, 'k')).toBe('from a follower');
    for (const m of [a!, b2!, c!]) await vi.waitFor(async () => expect(await value(m, 'k', true)).toBe('from a follower'));
    // Every member applied the same entries to the same state.
    await vi.waitFor(() => expect(new Set([a!, b2!, c!].map((m) => m.revision)).size).toBe(1));
  });

  it('sends the live state to a member whose log was compacted away, which then follows the log', async () => {
    net = new LocalNet(3);
    const members = await net.startAll({ raft: { tickMs: 10, electionTicks: 10, snapshotCount: 20 } });
    const leader = await net.leader();
    const lagger = members.find((m) => m !== leader)!;
    net.isolate(lagger);
    for (let i = 0; i < 100; i++) await leader.propose({ put: { key: b(`k${String(i).padStart(3, '0')}`), value: b(String(i)) } });
    await leader.propose({ deleteRange: { key: b('k000') } });
    const grant = await leader.leases.grant({ ttlSeconds: 60 });
    await leader.propose({ put: { key: b('leased'), value: b('x'), lease: grant.id } });
    expect(leader.driver.log.firstIndex()).toBeGreaterThan(lagger.driver.log.lastIndex() + 1);
    net.heal(lagger);
    await vi.waitFor(() => expect(lagger.revision).toBe(leader.revision), { timeout: 10_000 });
    const kvs = (await lagger.range({ key: b('k'), rangeEnd: b('l'), serializable: true })).kvs;
    expect(kvs).toHaveLength(99);
    // Leases and their attachments come with the snapshot.
    expect(lagger.leases.keys(grant.id).map(s)).toEqual(['leased']);
    await leader.propose({ put: { key: b('after'), value: b('1') } });
    await vi.waitFor(async () => expect(await value(lagger, 'after', true)).toBe('1'));
  });

  it('keeps a minority from committing, and loses nothing it acknowledged when the leader changes', async () => {
    net = new LocalNet(3);
    await net.startAll();
    const old = await net.leader();
    await old.propose({ put: { key: b('acked'), value: b('1') } });
    net.isolate(old);
    // Alone, the old leader cannot commit: the write fails (it never commits there).
    await expect(old.propose({ put: { key: b('lost'), value: b('1') } })).rejects.toMatchObject({ code: expect.stringMatching(/timeout|no_leader/) });
    const fresh = await net.leader();
    expect(fresh).not.toBe(old);
    expect(await value(fresh, 'acked')).toBe('1');
    net.heal(old);
    await vi.waitFor(async () => expect(await value(old, 'acked', true)).toBe('1'));
    expect(await value(old, 'lost', true)).toBeUndefined();
  }, 30_000);
});

describe('a leader whose disk stalls (pipelined Readys)', () => {
  it('commits and answers through its followers while its own writes wait, and counts itself once they land', async () => {
    net = new LocalNet(3);
    const members = await net.startAll();
    const leader = await net.leader();
    await leader.propose({ put: { key: b('before'), value: b('0') } });
    // From now on the leader's disk takes every write and lands none, in order, until released.
    const backend = net.backends.get(net.names[members.indexOf(leader)]!)!;
    const write = backend.write.bind(backend);
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let tail: Promise<void> = Promise.resolve();
    backend.write = (ops, options) => {
      const landed = tail.then(() => stalled).then(() => write(ops, options));
      tail = landed.catch(() => undefined);
      return landed;
    };
    // Each put is answered: the followers' acknowledgements commit it, and the leader applies
    // it while its own write of it (and of the ones after) is still in flight.
    const committedBefore = leader.driver.committed;
    for (let i = 0; i < 3; i++) await leader.propose({ put: { key: b(`k${i}`), value: b(String(i)) } });
    expect(await value(leader, 'k2', true)).toBe('2');
    const st = leader.driver.status();
    const self = st.progress.find((p) => p.id === leader.memberId)!;
    // The leader's own log does not count toward the commit until it is durable.
    expect(self.match).toBeLessThan(st.hardState.commit);
    expect(leader.driver.committed).toBe(committedBefore);
    release();
    await vi.waitFor(() => expect(leader.driver.status().progress.find((p) => p.id === leader.memberId)!.match).toBe(leader.driver.status().hardState.commit));
    await vi.waitFor(() => expect(leader.driver.committed).toBe(leader.driver.status().hardState.commit));
  });
});

describe('failover', () => {
  it('fails a proposal lost with its leader once the new leader commits, not an election timeout later', async () => {
    net = new LocalNet(3);
    // A long election timeout (2 s): the old grace (one election timeout after the leader
    // changed) would outlast the test's wait below.
    const members = await net.startAll({ raft: { tickMs: 10, electionTicks: 200 } });
    const old = await net.leader();
    const follower = members.find((m) => m !== old)!;
    // The follower forwards only once it knows the leader (which may know it leads a moment
    // before the follower hears of it); before that raft drops the proposal at once.
    await vi.waitFor(() => expect(follower.leaderId).toBe(old.memberId), { timeout: 10_000 });
    // The old leader dies the moment the forwarded proposal reaches it: taken off the wire, never appended.
    const deliver = old.peer.messages.bind(old.peer);
    let died: () => void = () => undefined;
    const dead = new Promise<void>((resolve) => (died = resolve));
    old.peer.messages = (from, msgs) => {
      if (!msgs.some((m) => m.type === 'MsgProp')) return deliver(from, msgs);
      net!.isolate(old);
      died();
    };
    const lost = follower.propose({ put: { key: b('lost'), value: b('1') } });
    const outcome = lost.then(
      () => 'answered',
      (err: unknown) => err,
    );
    await dead;
    const fresh = await net.leader();
    expect(fresh).not.toBe(old);
    const t0 = Date.now();
    const err = await outcome;
    expect(err).toMatchObject({ code: 'timeout', message: expect.stringMatching(/previous leader failure \(proposed in term \d+, now applying term \d+\)/) });
    expect(Date.now() - t0).toBeLessThan(1500);
    // The cluster takes writes again, through the same member.
    await follower.propose({ put: { key: b('after'), value: b('1') } });
    expect(await value(fresh, 'lost', true)).toBeUndefined();
  }, 30_000);
});

describe('snapshot install after a crash', () => {
  it('finishes an interrupted install from the staged rows on restart', async () => {
    const backend = new MemoryBackend();
    // The member's own (old) state: a key that the snapshot does not have.
    await backend.write([{ type: 'put', key: historyKey(2, 0), value: new Uint8Array([0]) }], { sync: true });
    const conf = { voters: [1n, 2n, 3n], learners: [] };
    // The leader's state as staged: meta at index 40, and no history.
    const rows = [metaKey(MetaKey.AppliedIndex), encodeValue(40n), metaKey(MetaKey.AppliedTerm), encodeValue(3), metaKey(MetaKey.ConfState), encodeConfState(conf), metaKey(MetaKey.Revision), encodeValue(7)];
    await backend.write(stageOps(rows), { sync: false });
    await backend.write([{ type: 'put', key: INSTALL_MARKER_KEY, value: encodeValue({ index: 40 }) }], { sync: true });
    await RaftDriver.recover(backend);
    expect(backend.get(INSTALL_MARKER_KEY)).toBeUndefined();
    expect(backend.get(historyKey(2, 0))).toBeUndefined();
    const log = LogStorage.load(backend);
    expect(log.snapshot().metadata).toEqual({ index: 40, term: 3, confState: conf });
    const applier = Applier.load(backend, () => ({ clusterId: 1n, memberId: 1n, revision: 0n, raftTerm: 0n }));
    expect(applier.appliedIndex).toBe(40n);
    expect(applier.store.currentRevision).toBe(7);
  });
});
