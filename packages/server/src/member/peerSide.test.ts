import type { Member } from '@cairn/protocol';
import { describe, expect, it } from 'vitest';
import { PEER_VOUCH_METHOD, PeerSide, type PeerSideHost } from './peerSide.js';

/** A member whose table lists `known` (itself first), and whose peers answer `members.vouch` from `tables`. */
function side(known: bigint[], tables: Map<bigint, bigint[]>, removed: bigint[] = []) {
  let now = 0;
  const asked: { to: bigint; id: bigint }[] = [];
  const lines: string[] = [];
  const member = (id: bigint) => ({ id }) as unknown as Member;
  const host: PeerSideHost = {
    clusterId: 1n,
    memberId: known[0]!,
    clock: { now: () => now, monotonic: () => now },
    driver: {} as PeerSideHost['driver'],
    peerHints: undefined,
    membership: () => ({
      get: (id: bigint) => (known.includes(id) ? member(id) : undefined),
      list: () => known.map(member),
      isRemoved: (id: bigint) => removed.includes(id),
    }),
    members: () => [],
    rpc: () => Promise.resolve(undefined),
    ask: (to, method, params) => {
      expect(method).toBe(PEER_VOUCH_METHOD);
      const id = (params as { id: bigint }).id;
      asked.push({ to, id });
      return Promise.resolve(tables.get(to)?.includes(id) ?? false);
    },
    log: { info: (_o, m) => lines.push(m), warn: () => undefined, debug: () => undefined },
  };
  return { peer: new PeerSide(host), asked, lines, advance: (ms: number) => (now += ms) };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('PeerSide: members this member does not know yet', () => {
  it('accepts a member that joined after its applied state once a member it knows vouches for it', async () => {
    // This member (1) knows 1, 2, 3; member 2 already applied the addition of 5.
    const s = side([1n, 2n, 3n], new Map([[2n, [1n, 2n, 3n, 5n]], [3n, [1n, 2n, 3n]]]));
    expect(s.peer.isMember(5n)).toBe(false);
    expect(s.asked.map((a) => a.to)).toEqual([2n, 3n]);
    await settle();
    expect(s.peer.isMember(5n)).toBe(true);
    expect(s.lines).toContain('accepting a member this member does not know yet (its members table is behind)');
  });

  it('keeps refusing a stranger no member vouches for, asking again only after a while', async () => {
    const s = side([1n, 2n, 3n], new Map([[2n, [1n, 2n, 3n]], [3n, [1n, 2n, 3n]]]));
    expect(s.peer.isMember(0x1337n)).toBe(false);
    await settle();
    expect(s.peer.isMember(0x1337n)).toBe(false);
    expect(s.asked.length).toBe(2); // the second refusal did not ask again yet
    s.advance(2500);
    expect(s.peer.isMember(0x1337n)).toBe(false);
    expect(s.asked.length).toBe(4);
  });

  it('never asks about, nor accepts, a removed member', async () => {
    const s = side([1n, 2n, 3n], new Map([[2n, [1n, 2n, 3n, 4n]]]), [4n]);
    expect(s.peer.isMember(4n)).toBe(false);
    await settle();
    expect(s.asked).toEqual([]);
    expect(s.peer.isMember(4n)).toBe(false);
  });

  it('answers members.vouch from its own table, and refuses a malformed id', () => {
    const s = side([1n, 2n], new Map());
    expect(s.peer.vouch({ id: 2n })).toBe(true);
    expect(s.peer.vouch({ id: 0xffn })).toBe(false);
    expect(() => s.peer.vouch({ id: 'zz' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => s.peer.vouch(undefined)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
