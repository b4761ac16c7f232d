import { describe, expect, it } from 'vitest';
import { Cluster, enc, newNode } from '../test/cluster.js';
import { makeMessage } from './types.js';
import { ProposalDroppedError } from './errors.js';
import { MemoryStorage } from './storage.js';

function leaderWithSilentFollowers(o: Parameters<typeof newNode>[2] = {}): Cluster {
  const c = new Cluster([1n, 2n, 3n], o);
  c.campaign(1n);
  return c;
}

describe('RawNode and the Ready contract', () => {
  it('a Ready asks for a synchronous write exactly when term, vote or entries changed', () => {
    const c = new Cluster([1n, 2n, 3n]);
    const n = c.node(1n).rn;
    n.campaign();
    const rd = n.ready();
    expect(rd.mustSync).toBe(true);
    expect(rd.hardState).toMatchObject({ term: 2, vote: 1n });
    expect(rd.softState).toEqual({ lead: 0n, raftState: 'candidate' });
    // The new term and vote are not durable yet: the vote requests wait for the persist.
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist.map((m) => m.type)).toEqual(['MsgVote', 'MsgVote']);
    n.advance();
    expect(n.hasReady()).toBe(false);
  });

  it('pipelined appends are bounded by the inflight window and the message size', () => {
    const c = leaderWithSilentFollowers({ maxInflightMsgs: 2, maxSizePerMsgBytes: 1 });
    c.tickAll(2); // followers are in replicate state
    c.filter = (m) => m.type !== 'MsgAppResp';
    for (let i = 0; i < 5; i++) c.node(1n).rn.propose(enc(`p${i}`));
    const before = c.trace.length;
    c.stabilize();
    const apps = c.trace.slice(before).filter((m) => m.type === 'MsgApp' && m.to === 2n);
    expect(apps.length).toBe(2);
    for (const m of apps) expect(m.entries.length).toBe(1);
  });

  it('the leader drops proposals beyond maxUncommittedEntriesBytes', () => {
    const c = leaderWithSilentFollowers({ maxUncommittedEntriesBytes: 100 });
    c.filter = (m) => m.type !== 'MsgAppResp';
    const n = c.node(1n).rn;
    let reason: string | undefined;
    for (let i = 0; i < 10 && reason === undefined; i++) {
      try {
        n.propose(new Uint8Array(40));
      } catch (e) {
        if (e instanceof ProposalDroppedError) reason = e.reason;
        else throw e;
      }
    }
    expect(reason).toBe('tooManyUncommitted');
  });

  it('reportUnreachable and a failed reportSnapshot send the follower back to probing', () => {
    const c = leaderWithSilentFollowers();
    c.tickAll(2);
    const n = c.node(1n).rn;
    expect(n.status().progress.find((p) => p.id === 2n)?.state).toBe('replicate');
    n.reportUnreachable(2n);
    expect(n.status().progress.find((p) => p.id === 2n)?.state).toBe('probe');
  });

  it('a restarted node rebuilds its membership from the configuration entries in its log', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.node(1n).rn.proposeConfChange({ type: 'addLearnerNode', nodeId: 4n, context: new Uint8Array(0) });
    c.stabilize();
    const restarted = newNode(2n, c.node(2n).storage);
    expect(restarted.status().confState).toEqual({ voters: [1n, 2n, 3n], learners: [4n] });
  });

  it('a fresh node added as a learner catches up from a snapshot when the log was compacted', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    for (let i = 0; i < 5; i++) c.node(1n).rn.propose(enc(`p${i}`));
    c.stabilize();
    const s1 = c.node(1n).storage;
    s1.createSnapshot(s1.lastIndex(), { voters: [1n, 2n, 3n], learners: [] }, enc('state'));
    s1.compact(s1.lastIndex());
    c.add(4n, new MemoryStorage());
    c.node(1n).rn.proposeConfChange({ type: 'addLearnerNode', nodeId: 4n, context: new Uint8Array(0) });
    c.tickAll(5);
    expect(c.trace.some((m) => m.type === 'MsgSnap' && m.to === 4n)).toBe(true);
    expect(c.node(4n).rn.raft.log.lastIndex()).toBe(c.node(1n).rn.raft.log.lastIndex());
    expect(c.node(4n).rn.status().confState.learners).toEqual([4n]);
  });
});

describe('takeMessages: what may leave while a write is in flight', () => {
  it("a leader's heartbeats and appends of newer entries leave before the pending Ready is persisted", () => {
    const c = leaderWithSilentFollowers();
    c.tickAll(2);
    const l = c.node(1n).rn;
    l.propose(enc('a'));
    const rd = l.ready(); // its write is in flight from here on
    expect(rd.entries.length).toBe(1);
    l.propose(enc('b'));
    l.tick();
    const now = l.takeMessages();
    expect(now.filter((m) => m.type === 'MsgApp' && m.entries.some((e) => e.data.length === 1 && e.data[0] === 0x62)).map((m) => m.to)).toEqual([2n, 3n]);
    expect(now.some((m) => m.type === 'MsgHeartbeat')).toBe(true);
    // Without appends, only the rest leaves; the appends wait for the next Ready.
    l.propose(enc('c'));
    l.tick();
    l.tick();
    const rest = l.takeMessages(false);
    expect(rest.some((m) => m.type === 'MsgHeartbeat')).toBe(true);
    expect(rest.some((m) => m.type === 'MsgApp')).toBe(false);
    // Nothing of it counts for the leader itself until the writes land.
    expect(l.raft.prs.progress.get(1n)!.match).toBeLessThan(rd.entries[0]!.index);
    c.node(1n).storage.append(rd.entries); // the first write lands
    l.advance();
    expect(l.raft.prs.progress.get(1n)!.match).toBe(rd.entries[0]!.index);
  });

  it('a read confirmed by a heartbeat round while a write is in flight is handed out at once', () => {
    const c = leaderWithSilentFollowers();
    c.tickAll(2);
    const leader = c.node(1n);
    const committed = leader.rn.raft.log.committed;
    leader.rn.propose(enc('a'));
    leader.rn.ready(); // 'a' is being written
    leader.rn.readIndex(enc('r1'));
    for (const m of leader.rn.takeMessages()) {
      if (m.type !== 'MsgHeartbeat') continue;
      const f = c.node(m.to);
      f.rn.step(m);
      for (const resp of c.drain(f)) if (resp.type === 'MsgHeartbeatResp') leader.rn.step(resp);
    }
    expect(leader.rn.takeReadStates()).toEqual([{ index: committed, requestCtx: enc('r1') }]);
  });

  it('nothing leaves early while a new term or vote is not yet durable, and never an acknowledgement', () => {
    const c = new Cluster([1n, 2n, 3n]);
    const n1 = c.node(1n).rn;
    n1.campaign();
    expect(n1.takeMessages()).toEqual([]);
    const rd = n1.ready();
    expect(rd.messagesAfterPersist.map((m) => m.type)).toEqual(['MsgVote', 'MsgVote']);
    const f = c.node(2n).rn;
    f.step(makeMessage({ type: 'MsgHeartbeat', from: 3n, to: 2n, term: 1 }));
    f.step(makeMessage({ type: 'MsgApp', from: 3n, to: 2n, term: 1, index: 1, logTerm: 1, entries: [{ term: 1, index: 2, type: 'normal', data: enc('x') }] }));
    const early = f.takeMessages();
    expect(early.map((m) => m.type)).toEqual(['MsgHeartbeatResp']);
    expect(f.ready().messagesAfterPersist.map((m) => m.type)).toEqual(['MsgAppResp']);
  });
});

describe('pipelined Readys: the next Ready before the last one advanced', () => {
  it("a leader's second Ready holds only the newer entries, and the leader counts each write once it lands", () => {
    const c = leaderWithSilentFollowers();
    c.tickAll(2);
    const leader = c.node(1n);
    const l = leader.rn;
    l.propose(enc('a'));
    const rd1 = l.ready();
    expect(rd1.entries.map((e) => e.data)).toEqual([enc('a')]);
    l.propose(enc('b'));
    const rd2 = l.ready();
    expect(rd2.entries.map((e) => e.data)).toEqual([enc('b')]);
    expect(rd2.entries[0]!.index).toBe(rd1.entries[0]!.index + 1);
    expect(l.inFlight).toBe(2);
    // Both followers acknowledge both entries: they commit without the leader's own disk.
    for (const m of [...rd1.messages, ...rd2.messages]) c.deliver(m);
    for (const f of [2n, 3n]) for (const resp of c.drain(c.node(f))) if (resp.type === 'MsgAppResp') l.step(resp);
    expect(l.raft.log.committed).toBe(rd2.entries[0]!.index);
    // Committed entries are handed out at once, in a third Ready, while both writes are in flight.
    const rd3 = l.ready();
    expect(rd3.committedEntries.map((e) => e.data)).toEqual([enc('a'), enc('b')]);
    expect(rd3.entries).toEqual([]);
    expect(l.hasReady()).toBe(false);
    // The writes land in order; the leader's own match follows each one.
    leader.storage.append(rd1.entries);
    l.advance();
    expect(l.raft.prs.progress.get(1n)!.match).toBe(rd1.entries[0]!.index);
    leader.storage.append(rd2.entries);
    l.advance();
    expect(l.raft.prs.progress.get(1n)!.match).toBe(rd2.entries[0]!.index);
    l.advance();
    expect(l.raft.log.applied).toBe(rd2.entries[0]!.index);
    expect(l.inFlight).toBe(0);
    // Nothing is handed out twice.
    const rest = l.hasReady() ? l.ready() : undefined;
    expect(rest?.committedEntries ?? []).toEqual([]);
    expect(rest?.entries ?? []).toEqual([]);
  });

  it('a follower whose in-flight entries are replaced hands the new ones out, and the old write does not count', () => {
    const c = new Cluster([1n, 2n, 3n]);
    const f = c.node(2n);
    const x = (index: number, term: number, data: string) => ({ term, index, type: 'normal' as const, data: enc(data) });
    // Leader 3 of term 2 sends entries 2 and 3; they are being written.
    f.rn.step(makeMessage({ type: 'MsgApp', from: 3n, to: 2n, term: 2, index: 1, logTerm: 1, commit: 1, entries: [x(2, 2, 'a'), x(3, 2, 'b')] }));
    const rd1 = f.rn.ready();
    expect(rd1.entries.map((e) => e.index)).toEqual([2, 3]);
    // A new leader 1 of term 3 replaces entry 3 before that write landed.
    f.rn.step(makeMessage({ type: 'MsgApp', from: 1n, to: 2n, term: 3, index: 2, logTerm: 2, commit: 1, entries: [x(3, 3, 'c')] }));
    const rd2 = f.rn.ready();
    expect(rd2.entries.map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    // Its acknowledgement of entry 3 waits for that write (and the term change for it too).
    expect(rd2.messages).toEqual([]);
    expect(rd2.messagesAfterPersist.map((m) => [m.type, m.index])).toEqual([['MsgAppResp', 3]]);
    f.storage.append(rd1.entries);
    if (rd1.hardState !== undefined) f.storage.setHardState(rd1.hardState);
    f.rn.advance();
    // Entry 3 of term 2 landed but is superseded: the log is durable only up to 2.
    expect(f.rn.raft.log.stableIndex()).toBe(2);
    f.storage.append(rd2.entries);
    if (rd2.hardState !== undefined) f.storage.setHardState(rd2.hardState);
    f.rn.advance();
    expect(f.rn.raft.log.stableIndex()).toBe(3);
    expect(f.rn.raft.log.term(3)).toBe(3);
  });

  it('a Ready with a snapshot is the last one until it is advanced', () => {
    const c = new Cluster([1n, 2n, 3n]);
    const f = c.node(2n).rn;
    f.step(
      makeMessage({
        type: 'MsgSnap',
        from: 1n,
        to: 2n,
        term: 2,
        snapshot: { data: enc('state'), metadata: { index: 10, term: 2, confState: { voters: [1n, 2n, 3n], learners: [] } } },
      }),
    );
    const rd = f.ready();
    expect(rd.snapshot?.metadata.index).toBe(10);
    f.step(makeMessage({ type: 'MsgApp', from: 1n, to: 2n, term: 2, index: 10, logTerm: 2, commit: 10, entries: [{ term: 2, index: 11, type: 'normal', data: enc('n') }] }));
    expect(f.hasReady()).toBe(false);
    expect(() => f.ready()).toThrow(/snapshot/);
    c.node(2n).storage.applySnapshot(rd.snapshot!);
    if (rd.hardState !== undefined) c.node(2n).storage.setHardState(rd.hardState);
    f.advance();
    expect(f.hasReady()).toBe(true);
    expect(f.ready().entries.map((e) => e.index)).toEqual([11]);
  });
});
