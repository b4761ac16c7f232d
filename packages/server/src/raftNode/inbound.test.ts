import { describe, expect, it } from 'vitest';
import { encodeValue } from '@cairn/protocol';
import { makeMessage, type Entry } from '@cairn/raft';
import { encodeProposal, encodeWriteRequest } from '../apply/requests.js';
import { checkInbound, type InboundView } from './inbound.js';

const put = (index: number, term: number): Entry => ({
  index,
  term,
  type: 'normal',
  data: encodeProposal({ origin: 1n, seq: BigInt(index), request: encodeWriteRequest({ put: { key: new Uint8Array([107]), value: new Uint8Array([1]) } }) }),
});

// This member (3) follows 1 in term 5; entries 1..10 are of term 4, committed up to 8.
const view: InboundView = { self: 3n, term: 5, lead: 1n, committed: 8, termAt: (i) => (i >= 1 && i <= 10 ? 4 : undefined) };

describe('inbound raft messages', () => {
  it('take what the leader of the term sends: appends after the commit, empty entries, other types', () => {
    const msgs = [
      makeMessage({ type: 'MsgApp', from: 1n, to: 3n, term: 5, index: 10, logTerm: 4, entries: [put(11, 5), { index: 12, term: 5, type: 'normal', data: new Uint8Array() }] }),
      // Entries it already holds as committed, with the same terms: a harmless resend.
      makeMessage({ type: 'MsgApp', from: 1n, to: 3n, term: 5, index: 6, logTerm: 4, entries: [put(7, 4), put(8, 4)] }),
      makeMessage({ type: 'MsgHeartbeat', from: 1n, to: 3n, term: 5 }),
      // A higher term is raft's to judge (an election happened).
      makeMessage({ type: 'MsgHeartbeat', from: 2n, to: 3n, term: 6 }),
      makeMessage({ type: 'MsgVote', from: 2n, to: 3n, term: 6, index: 10, logTerm: 4 }),
    ];
    const { accepted, refused } = checkInbound(msgs, view);
    expect(refused).toEqual([]);
    expect(accepted).toHaveLength(msgs.length);
  });

  it('refuse a second leader in the term, a rewrite of a committed entry, and entries nobody can apply', () => {
    const msgs = [
      makeMessage({ type: 'MsgApp', from: 2n, to: 3n, term: 5, index: 10, logTerm: 4, entries: [put(11, 5)] }),
      makeMessage({ type: 'MsgHeartbeat', from: 2n, to: 3n, term: 5 }),
      makeMessage({ type: 'MsgApp', from: 1n, to: 3n, term: 5, index: 7, logTerm: 4, entries: [put(8, 5)] }),
      makeMessage({ type: 'MsgApp', from: 1n, to: 3n, term: 5, index: 10, logTerm: 4, entries: [{ index: 11, term: 5, type: 'normal', data: new Uint8Array([9, 9, 9]) }] }),
      makeMessage({ type: 'MsgApp', from: 1n, to: 3n, term: 5, index: 10, logTerm: 4, entries: [{ index: 11, term: 5, type: 'confChange', data: new Uint8Array([1]) }] }),
    ];
    const { accepted, refused } = checkInbound(msgs, view);
    expect(accepted).toEqual([]);
    expect(refused.map((r) => r.kind)).toEqual(['safety', 'safety', 'safety', 'unreadable', 'unreadable']);
    expect(refused[2]!.why).toContain('rewrite committed entry 8');
  });

  it('check the entries of forwarded proposals field by field (the applier trusts the log)', () => {
    const asLeader: InboundView = { ...view, self: 1n, lead: 1n };
    const prop = (data: Uint8Array) => makeMessage({ type: 'MsgProp', from: 3n, to: 1n, term: 5, entries: [{ index: 0, term: 0, type: 'normal', data }] });
    const badPut = encodeProposal({ origin: 3n, seq: 1n, request: encodeValue({ put: { key: 7 } }) });
    const { accepted, refused } = checkInbound([prop(put(0, 0).data), prop(badPut)], asLeader);
    expect(accepted).toHaveLength(1);
    expect(refused.map((r) => [r.kind, r.why])).toEqual([['unreadable', 'a forwarded proposal cannot be applied: invalid argument: put.key must be bytes']]);
  });
});
