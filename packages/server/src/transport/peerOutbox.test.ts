import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeMessage, type Entry, type Message } from '@cairn/raft';
import { COMMIT_HOLD_MS, PeerOutbox } from './peerOutbox.js';

const entry = (index: number): Entry => ({ term: 2, index, type: 'normal', data: new Uint8Array([1]) });
/** A leader's append at `index` with `n` entries after it, carrying `commit`. */
const app = (term: number, index: number, commit: number, n = 0): Message =>
  makeMessage({ type: 'MsgApp', from: 1n, to: 2n, term, index, logTerm: term, commit, entries: Array.from({ length: n }, (_, i) => entry(index + 1 + i)) });

describe('the outbox of a leader', () => {
  let released: Message[];
  let box: PeerOutbox;
  beforeEach(() => {
    vi.useFakeTimers();
    released = [];
    box = new PeerOutbox((m) => released.push(m));
  });
  afterEach(() => {
    box.reset();
    vi.useRealTimers();
  });

  it('drops a commit-only append when the next append of the term carries its commit index', () => {
    expect(box.admit(app(2, 10, 10, 2))).toBe(true);
    expect(box.admit(app(2, 12, 10))).toBe(false);
    expect(box.admit(app(2, 12, 12, 3))).toBe(true);
    vi.advanceTimersByTime(10 * COMMIT_HOLD_MS);
    expect(released).toEqual([]);
  });

  it('sends the newest held commit-only append when no append comes in time', () => {
    expect(box.admit(app(2, 12, 11))).toBe(false);
    expect(box.admit(app(2, 12, 12))).toBe(false);
    vi.advanceTimersByTime(COMMIT_HOLD_MS - 1);
    expect(released).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(released.map((m) => m.commit)).toEqual([12]);
  });

  it('keeps holding when the append that follows is of another term or carries a lower commit index', () => {
    expect(box.admit(app(2, 12, 12))).toBe(false);
    expect(box.admit(app(3, 12, 12, 1))).toBe(true);
    expect(box.admit(app(2, 12, 11, 1))).toBe(true);
    vi.advanceTimersByTime(COMMIT_HOLD_MS);
    expect(released.map((m) => `${m.term}/${m.commit}`)).toEqual(['2/12']);
  });

  it('lets every other message through at once', () => {
    const others = [
      makeMessage({ type: 'MsgHeartbeat', from: 1n, to: 2n, term: 2, commit: 12 }),
      makeMessage({ type: 'MsgTimeoutNow', from: 1n, to: 2n, term: 2 }),
      makeMessage({ type: 'MsgVote', from: 1n, to: 2n, term: 3, index: 12, logTerm: 2 }),
    ];
    for (const m of others) expect(box.admit(m)).toBe(true);
  });

  it('drops what it holds when the socket goes', () => {
    expect(box.admit(app(2, 12, 12))).toBe(false);
    box.reset();
    vi.advanceTimersByTime(COMMIT_HOLD_MS);
    expect(released).toEqual([]);
  });
});

describe('the outbox of a follower', () => {
  it('leaves out an acknowledgement no higher than one already sent on the socket', () => {
    const box = new PeerOutbox(() => undefined);
    const ack = (term: number, index: number, reject = false): Message => makeMessage({ type: 'MsgAppResp', from: 2n, to: 1n, term, index, reject });
    const sent = [ack(2, 10), ack(2, 10), ack(2, 9), ack(2, 7, true), ack(2, 11), ack(3, 5)].filter((m) => box.admit(m));
    expect(sent.map((m) => `${m.term}/${m.index}${m.reject ? ' reject' : ''}`)).toEqual(['2/10', '2/7 reject', '2/11', '3/5']);
    box.reset();
    expect(box.admit(ack(3, 5))).toBe(true);
    box.reset();
  });
});
